"""`o2o recon roaming HOME.csv VISITED.tap --grammar DIR --out DIR`: the home operator's records of its
roamers against the visited operator's TAP file (`o2o.services.roaming_recon`), added to `o2o recon`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from o2o.cli.output import print_json, print_table
from o2o.cli.recon import recon_app
from o2o.services import roaming_recon


def roaming(
    home: Annotated[
        Path, typer.Argument(help="the home operator's records: CSV of imsi, start_time, service …")
    ],
    tap: Annotated[Path, typer.Argument(help="the visited operator's TAP 3 file")],
    *,
    grammar: Annotated[Path, typer.Option("--grammar", help="the folder of the TAP 3 ASN.1 grammar")],
    out: Annotated[Path, typer.Option("--out", help="folder for the detail Parquet files, per service")],
    rap: Annotated[
        Path | None, typer.Option("--rap", help="a RAP file; the events it returns are left out")
    ] = None,
    accept_audit_mismatch: Annotated[
        bool, typer.Option("--accept-audit-mismatch", help="compare even when the TAP audit totals differ")
    ] = False,
    time_tolerance: Annotated[int, typer.Option(help="seconds between start times of a pair")] = 5,
    duration_tolerance: Annotated[int, typer.Option(help="seconds of duration gap still 'partial'")] = 1,
    memory_limit: Annotated[str, typer.Option(help="DuckDB memory limit; past it work spills")] = "1500MB",
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Match HOME against the TAP file per service (by IMSI, time, duration) and compare usage per TADIG
    pair, month and service as the BWRP discrepancy service does."""
    report = roaming_recon.reconcile_roaming(
        home,
        tap,
        out,
        roaming_recon.RoamingMatchOptions(
            grammar=grammar,
            rap=rap,
            accept_audit_mismatch=accept_audit_mismatch,
            time_tolerance_s=time_tolerance,
            duration_tolerance_s=duration_tolerance,
            memory_limit=memory_limit,
        ),
    )
    if as_json:
        print_json(report)
        return
    print_table(
        "record matching per service (home = ours, TAP = theirs)",
        ["service", "home", "tap", "matched", "exact", "partial", "duration_mismatch", "only_home", "only_tap"],
        (
            [s, m["ours"], m["theirs"], m["matched"], m["exact"], m["partial"], m["duration_mismatch"],
             m["only_ours"], m["only_theirs"]]
            for s, m in report["matching"].items()
        ),
    )  # fmt: skip
    print_table(
        "usage per TADIG pair and service (own = home, partner = TAP)",
        ["home", "visited", "month", "service", "unit", "own", "partner", "delta", "delta %"],
        (
            [d["home"], d["visited"], d["year_month"], d["service"], d["unit"], d["own"], d["partner"],
             d["delta"], d["delta_percent"]]
            for d in report["discrepancy"]
        ),
    )  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add `roaming` to the `recon` group (which `o2o.cli.recon` registers)."""
    recon_app.command("roaming")(roaming)
