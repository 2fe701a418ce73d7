"""Roaming calculation: `o2o roaming calc` on a generated BWRP request beside parsing the same JSON with the
standard library's `json.load` (the floor: any calculation must at least read the file).

The request: 1,000 parties × 50 services (five service groups of ten) and 1,000,000 usage rows, figures as
JSON strings (as the current BWRP requests carry them), pricing mixed over tiered thresholds,
back-to-first, balanced/unbalanced, flat fees and linear rates, conditions mixed over unconditional, deal
revenue and contract revenue commitments. Prints wall time, CPU time and peak RSS of both (each a fresh
child process, best of `--rounds`) and the ratio. Goal: within 3x the floor.
    .venv/bin/python benchmarks/roaming_bench.py [--parties 1000] [--services 50] [--rows 1000000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _measure import Run, best, measure

ROOT = Path(__file__).resolve().parent.parent
O2O = [sys.executable, "-c", "from o2o.cli.app import main; main()"]
FLOOR = "import json, sys\nwith open(sys.argv[1], 'rb') as f:\n    json.load(f)\n"
SERVICES = (
    "MOC Local", "MOC Back Home", "MOC International", "MOC EU", "MTC",
    "SMS MO", "SMS MT", "GPRS", "VoLTE", "NB-IoT",
)  # fmt: skip
GROUPS = 5


def _tiers(rng: random.Random, count: int) -> list[dict[str, str]]:
    start = 0
    out = []
    for _ in range(count):
        out.append({"start": str(start), "linearPrice": f"{rng.randint(1, 900) / 10000:.4f}"})
        start += rng.randint(1000, 50000)
    return out


def _pricing(rng: random.Random, i: int) -> dict[str, Any]:
    kind = i % 5
    if kind == 0:
        return {"ratingPlan": {"rate": {"thresholds": _tiers(rng, 3)}}}
    if kind == 1:
        return {"ratingPlan": {"kind": "Threshold - back to first", "rate": {"thresholds": _tiers(rng, 2)}}}
    if kind == 2:
        return {"ratingPlan": {"balancedRate": {"thresholds": _tiers(rng, 1)},
                               "unbalancedRate": {"thresholds": [{"start": "0", "linearPrice": "0.02",
                                                                  "fixedPrice": "100"}]}}}  # fmt: skip
    if kind == 3:
        return {"ratingPlan": {"rate": {"fixedPrice": str(rng.randint(100, 5000))}}}
    return {"ratingPlan": {"rate": {"linearPrice": f"{rng.randint(1, 900) / 10000:.4f}"}}}


def _condition(rng: random.Random, p: int) -> dict[str, Any]:
    kind = p % 3
    if kind == 0:
        return {"kind": "Unconditional"}
    if kind == 1:
        return {"kind": "Deal Revenue Commitment", "commitment": {"value": str(rng.randint(1000, 90000))}}
    return {"kind": "Contract Revenue Commitment",
            "commitment": {"value": str(rng.randint(1000, 90000)), "includingTaxes": True}}  # fmt: skip


def request(parties: int, services: int, rows: int, seed: int = 7) -> Path:
    """Write (once, cached under bench-data/) the request: parties × services and `rows` usage rows."""
    path = ROOT / "bench-data" / f"roaming-{parties}x{services}-{rows}.json"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    per_group = services // GROUPS
    discounts = {}
    keys = []
    for p in range(parties):
        home = [f"H{p:04d}A", f"H{p:04d}B"]
        groups = []
        for g in range(GROUPS):
            visitor = [f"V{p:04d}{g}"]
            names = SERVICES[:per_group]
            groups.append({
                "homeTadigs": home, "visitorTadigs": visitor,
                "services": [{"service": n, "includedInCommitment": bool(i % 2),
                              "usagePricing": _pricing(rng, i + g)} for i, n in enumerate(names)],
            })  # fmt: skip
            keys += [(n, h, visitor[0]) for n in names for h in home]
        discounts[f"PARTY{p:04d}"] = {"condition": _condition(rng, p), "serviceGroups": groups}
    inbound, outbound = [], []
    for r in range(rows):
        service, home, visitor = keys[rng.randrange(len(keys))]
        row = {"service": service, "usage": f"{rng.randint(0, 10_000_000) / 100:.2f}",
               "charges": f"{rng.randint(0, 1_000_000) / 100:.2f}", "taxes": f"{rng.randint(0, 20_000) / 100:.2f}",
               "units": "min", "yearMonth": f"2026{1 + r % 12:02d}"}  # fmt: skip
        if r % 5 < 3:
            inbound.append({**row, "homeTadig": home, "visitorTadig": visitor})
        else:  # the opposite traffic: the visitor network's customers on the home network
            outbound.append({**row, "homeTadig": visitor, "visitorTadig": home})
    tmp = path.with_suffix(".tmp")
    with tmp.open("w") as f:
        json.dump({"discounts": discounts, "usage": {"inbound": inbound, "outbound": outbound}}, f)
    tmp.rename(path)
    return path


def _line(name: str, run: Run) -> str:
    return (
        f"{name:<34} {run.seconds:7.2f} s wall  {run.cpu_seconds:7.2f} s CPU  {run.peak_rss_mb:7.0f} MB peak"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parties", type=int, default=1000)
    parser.add_argument("--services", type=int, default=50)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    path = request(args.parties, args.services, args.rows)
    out = path.with_suffix(".response.json")
    floor, ours = [], []
    for _ in range(args.rounds):
        floor.append(measure([sys.executable, "-c", FLOOR, str(path)]))
        ours.append(measure([*O2O, "roaming", "calc", str(path), "--out", str(out)]))
    f, o = best(floor), best(ours)
    results = len(json.loads(out.read_text())["intermediateResults"])
    size = path.stat().st_size / 1e6
    print(
        f"request: {args.parties} parties x {args.services} services, {args.rows} usage rows, {size:.0f} MB"
    )
    print(_line("json.load (floor)", f))
    print(_line("o2o roaming calc", o))
    print(f"results: {results} intermediate results")
    print(
        f"ratio: {o.seconds / f.seconds:.2f}x wall, {o.cpu_seconds / f.cpu_seconds:.2f}x CPU (goal: within 3x)"
    )


if __name__ == "__main__":
    main()
