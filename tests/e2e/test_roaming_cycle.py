"""A roaming agreement's period through the workspace's cycle, from the command line, beside an interconnect
agreement of the same two operators: loaded with `o2o agreement load`, both parties' BWRP usage reports
declared with `o2o usage import --format bwrp`, reconciled with the period (`o2o reconcile`), signed by both,
netted in the same round as the interconnect obligations, registered on the ledger. The figures are those
of `o2o roaming calc --agreement` over the same usage, to the cent; and the figures of the netting round are
worked out here from the two signed statements."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from cycle_steps import declared, resolve_by_split

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "roaming"
RA = "RA-ALFA-BRAVO-2026"


def _roaming_agreement(tmp_path: Path, currency: str = "GBP", extra: str = "") -> Path:
    """The documented example agreement, between the generated network's ALFA and BRAVO, in `currency`."""
    text = (EXAMPLES / "agreement.toml").read_text(encoding="utf-8")
    text = text.replace('"BETA"', '"BRAVO"').replace("RA-ALFA-BETA-2026", RA)
    text = text.replace('currency = "EUR"', f'currency = "{currency}"')
    path = tmp_path / "roaming.toml"
    path.write_text(extra + text, encoding="utf-8")
    return path


def _calc_lines(cli: Any, agreement: Path, usage: Path, tmp_path: Path) -> dict[str, Decimal]:
    """`o2o roaming calc --agreement`'s statement lines (the table it prints with --out)."""
    r = cli("roaming", "calc", usage, "--agreement", agreement, "--out", tmp_path / "response.json")
    assert r.code == 0, r.err
    text = r.out[r.out.index("Statement lines") :]
    rows = [[c.strip() for c in ln.strip("│").split("│")] for ln in text.splitlines() if ln.startswith("│")]
    return {row[0]: Decimal(row[5]) for row in rows}


def _declare(cli: Any, usage: Path, period: str, declarer: str) -> Any:
    return cli("usage", "import", usage, "--agreement", RA, "--period", period, "--declarer", declarer,
               "--format", "bwrp", "--json")  # fmt: skip


def _signed_lines(cli: Any, st: str) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = cli("statement", "show", st, "--json").json()["document"]["lines"]
    return lines


def test_a_roaming_period_settles_through_the_cycle_with_the_others(db_cli: Any, tmp_path: Path) -> None:
    cli = db_cli
    _, truth, ag = declared(cli, tmp_path, cdrs=3000, seed=5, zero_tolerance=False)
    period = truth["period"]
    agreement = _roaming_agreement(tmp_path)
    usage = EXAMPLES / "usage.json"

    r = cli("agreement", "load", agreement, "--json")
    assert r.code == 0, r.err
    assert r.json() == [{"id": RA, "revision": 1, "unchanged": False,
                         "services": ["ALFA-on-BRAVO", "BRAVO-on-ALFA"]}]  # fmt: skip
    kinds = {a["id"]: a["kind"] for a in cli("agreement", "list", "--json").json()}
    assert kinds == {ag["id"]: "interconnect", RA: "roaming"}
    shown = cli("agreement", "show", RA, "--json").json()
    assert (shown["kind"], shown["parties"], shown["currency"]) == ("roaming", ["ALFA", "BRAVO"], "GBP")

    # Each party declares its report: one declaration per direction, its role in each.
    r = _declare(cli, usage, period, "ALFA")
    assert r.code == 0, r.err
    assert {(d["service"], d["role"], d["rows"]) for d in r.json()} == {
        ("ALFA-on-BRAVO", "customer", 6), ("BRAVO-on-ALFA", "provider", 4)
    }  # fmt: skip
    (cycle,) = [
        c for c in cli("cycle", "status", "--period", period, "--json").json() if c["agreement"] == RA
    ]
    assert cycle["state"] == "open"
    assert cycle["waiting_for"] == [
        "BRAVO (provider) for ALFA-on-BRAVO",
        "BRAVO (customer) for BRAVO-on-ALFA",
    ]
    assert _declare(cli, usage, period, "BRAVO").code == 0
    again = _declare(cli, usage, period, "BRAVO").json()
    assert [d["already_imported"] for d in again] == [True, True]

    # The period reconciled: the interconnect agreement rated and matched, the roaming one priced.
    reports = {x["agreement"]: x for x in cli("reconcile", "--period", period, "--json").json()}
    assert set(reports) == {ag["id"], RA}
    roaming = reports[RA]
    assert (roaming["statement"], roaming["state"], roaming["disputes"]) == (
        f"ST-{RA}-{period}",
        "agreed",
        [],
    )
    expected = _calc_lines(cli, agreement, usage, tmp_path)
    assert expected == {
        "ALFA-MOC": Decimal("7613.11"), "ALFA-SMS": Decimal("1314.54"), "ALFA-data": Decimal("6742.35"),
        "BRAVO-MOC": Decimal("883.46"), "BRAVO-SMS": Decimal("100.39"), "BRAVO-data": Decimal("403.73"),
    }  # fmt: skip
    assert {ln["service"]: Decimal(str(ln["agreed_amount"])) for ln in roaming["lines"]} == expected

    # Both sign both statements (an interconnect dispute, if any, settled by a split first).
    for d in cli("dispute", "list", "--json").json():
        resolve_by_split(cli, d["id"])
    statements = [f"ST-{ag['id']}-{period}", f"ST-{RA}-{period}"]
    for st in statements:
        for op in ("ALFA", "BRAVO"):
            r = cli("statement", "sign", st, "--as", op)
            assert r.code == 0, r.err
    (cycle,) = [
        c for c in cli("cycle", "status", "--period", period, "--json").json() if c["agreement"] == RA
    ]
    assert (cycle["state"], cycle["obligations"]) == ("signed", 6)
    assert cycle["obligations_amount"] == {"GBP": "17057.58"}  # 15670.00 + 1387.58, the two amounts due

    # One netting round of both statements' obligations: ALFA and BRAVO pay each other only the net.
    owed: dict[str, Decimal] = {"ALFA": Decimal(0), "BRAVO": Decimal(0)}
    gross = Decimal(0)
    for st in statements:
        for ln in _signed_lines(cli, st):
            owed[ln["customer"]] += Decimal(ln["agreed_amount"])
            gross += Decimal(ln["agreed_amount"])
    r = cli("net", "run", "--period", period, "--mode", "direct", "--json")
    assert r.code == 0, r.err
    rnd = r.json()
    figures = rnd["currencies"]["GBP"]
    assert Decimal(figures["gross_total"]) == gross
    (payment,) = rnd["payments"]
    net = owed["ALFA"] - owed["BRAVO"]
    assert (payment["payer"], payment["payee"]) == (("ALFA", "BRAVO") if net > 0 else ("BRAVO", "ALFA"))
    assert Decimal(payment["amount"]) == abs(net)
    states = {c["agreement"]: c["state"] for c in cli("cycle", "status", "--period", period, "--json").json()}
    assert states == {ag["id"]: "netted", RA: "netted"}

    # Registered like the others: the store checked against the ledger.
    r = cli("ledger", "verify", "--store")
    assert r.code == 0, r.err
    assert "6 obligations" not in r.out  # the interconnect statement's obligations are there too
    assert "2 statements" in r.out


def test_the_two_parties_reports_differ_a_line_is_disputed_with_its_usage(cli: Any, tmp_path: Path) -> None:
    """BRAVO's report counts 10% more of ALFA's customers' SMS on its network: the line ALFA-SMS (BRAVO the
    provider) is disputed, each figure that party's own calculation, the usage compared per TADIG pair."""
    for op, cc in (("ALFA", "44"), ("BRAVO", "49")):
        assert cli("operator", "add", op, "--name", op, "--currency", "GBP", "--country-code", cc).code == 0
        assert cli("keys", "generate", op).code == 0
    agreement = _roaming_agreement(tmp_path, extra='kind = "roaming"\n')
    assert cli("agreement", "load", agreement).code == 0
    usage = json.loads((EXAMPLES / "usage.json").read_text())
    sms = usage["inbound"][0]
    assert (sms["service"], sms["homeTadig"], sms["visitorTadig"]) == ("SMS MO", "GRCPF", "AAZTD")
    sms["usage"] = "3300"
    theirs = tmp_path / "bravo.json"
    theirs.write_text(json.dumps(usage), encoding="utf-8")
    assert _declare(cli, EXAMPLES / "usage.json", "2026-12", "ALFA").code == 0
    assert _declare(cli, theirs, "2026-12", "BRAVO").code == 0

    (report,) = cli("reconcile", "--period", "2026-12", "--json").json()
    assert report["state"] == "disputed"
    assert report["disputes"] == [f"DSP-{RA}-2026-12-ALFA-SMS"]
    ours = _calc_lines(cli, agreement, EXAMPLES / "usage.json", tmp_path)
    bravo = _calc_lines(cli, agreement, theirs, tmp_path)
    assert bravo["ALFA-SMS"] != ours["ALFA-SMS"]
    lines = {ln["service"]: ln for ln in report["lines"]}
    line = lines["ALFA-SMS"]
    assert Decimal(str(line["provider_amount"])) == bravo["ALFA-SMS"]
    assert Decimal(str(line["customer_amount"])) == ours["ALFA-SMS"]
    assert Decimal(str(line["agreed_amount"])) == min(bravo["ALFA-SMS"], ours["ALFA-SMS"])
    assert Decimal(str(line["disputed_amount"])) == abs(bravo["ALFA-SMS"] - ours["ALFA-SMS"])

    d = cli("dispute", "show", report["disputes"][0], "--json").json()
    (row,) = d["evidence"]["usage"]
    assert row == {"service": "SMS MO", "homeTadig": "GRCPF", "visitorTadig": "AAZTD", "provider_usage": "3300",
                   "customer_usage": "3000", "delta_usage_abs": "300", "delta_usage_percent": "9.09090909"}  # fmt: skip
    assert d["evidence"]["customer"]["commitment"]["condition"] == "Deal Revenue Commitment"

    # Settled as any dispute: BRAVO's figure accepted, the statement re-issued, both sign.
    dsp = report["disputes"][0]
    assert cli("dispute", "propose", dsp, "--as", "BRAVO", "--amount", str(bravo["ALFA-SMS"])).code == 0
    assert cli("dispute", "accept", dsp, "--as", "ALFA").code == 0
    st = f"ST-{RA}-2026-12"
    for op in ("ALFA", "BRAVO"):
        r = cli("statement", "sign", st, "--as", op)
        assert r.code == 0, r.err
    signed = {ln["service"]: Decimal(ln["agreed_amount"]) for ln in _signed_lines(cli, st)}
    assert signed["ALFA-SMS"] == bravo["ALFA-SMS"]
    assert signed["BRAVO-MOC"] == ours["BRAVO-MOC"]


def _random_usage(seed: int) -> dict[str, list[Any]]:
    """Usage rows over the example's TADIG pairs, both directions, some services without a discount, the
    same key more than once, figures with up to 4 decimals (as strings and as JSON numbers), commitments
    met or not."""
    rnd = random.Random(seed)
    alfa, bravo = ["AAZOR", "GRCPF"], ["AAZVF", "AAZTD"]
    services = [
        "SMS MO",
        "SMSMO",
        "MOC International",
        "VoLTE",
        "MOC Local",
        "GPRS",
        "NB-IoT",
        "MTC",
        "SMS MT",
    ]
    out: dict[str, list[Any]] = {"inbound": [], "outbound": []}

    def figure(top: int) -> Decimal:
        return Decimal(rnd.randint(0, top * 10_000)) / 10_000

    for _ in range(rnd.randint(5, 40)):
        home, visitor = (alfa, bravo) if rnd.random() < 0.6 else (bravo, alfa)
        row: dict[str, Any] = {
            "service": rnd.choice(services), "homeTadig": rnd.choice(home), "visitorTadig": rnd.choice(visitor),
            "usage": str(figure(20_000)), "charges": str(figure(5_000)), "taxes": str(figure(100)),
        }  # fmt: skip
        if rnd.random() < 0.3:
            row["usage"] = float(row["usage"]) if "." not in row["usage"] else row["usage"]
        out[rnd.choice(["inbound", "outbound"])].append(row)
    # Each direction uses a discounted service (a shortfall needs a line to carry it: see the last test).
    for home, visitor in (("GRCPF", "AAZTD"), ("AAZVF", "AAZOR")):
        row = {
            "service": "SMS MO",
            "homeTadig": home,
            "visitorTadig": visitor,
            "usage": str(rnd.randint(1, 99)),
        }
        out["inbound"].append(row)
    return out


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_the_statement_is_the_calculation_of_the_declared_usage_to_the_cent(
    cli: Any, tmp_path: Path, seed: int
) -> None:
    """Random usage declared the same by both parties: every line agreed at `o2o roaming calc --agreement`'s
    figure, the obligations adding up to the two amounts due."""
    for op, cc in (("ALFA", "44"), ("BRAVO", "49")):
        assert cli("operator", "add", op, "--name", op, "--currency", "GBP", "--country-code", cc).code == 0
        assert cli("keys", "generate", op).code == 0
    agreement = _roaming_agreement(tmp_path)
    assert cli("agreement", "load", agreement).code == 0
    usage = tmp_path / "usage.json"
    usage.write_text(json.dumps(_random_usage(seed)), encoding="utf-8")
    expected = _calc_lines(cli, agreement, usage, tmp_path)
    assert _declare(cli, usage, "2026-06", "ALFA").code == 0
    assert _declare(cli, usage, "2026-06", "BRAVO").code == 0
    (report,) = cli("reconcile", "--period", "2026-06", "--json").json()
    assert report["state"] == "agreed"
    got = {ln["service"]: Decimal(str(ln["agreed_amount"])) for ln in report["lines"]}
    assert got == expected
    st = f"ST-{RA}-2026-06"
    for op in ("ALFA", "BRAVO"):
        assert cli("statement", "sign", st, "--as", op).code == 0
    (cycle,) = cli("cycle", "status", "--period", "2026-06", "--json").json()
    positive = [v for v in expected.values() if v > 0]
    assert cycle["obligations"] == len(positive)
    assert Decimal(cycle["obligations_amount"].get("GBP", "0")) == sum(positive, Decimal(0))


@pytest.fixture
def roaming_loaded(cli: Any, tmp_path: Path) -> Any:
    for op, cc in (("ALFA", "44"), ("BRAVO", "49")):
        assert cli("operator", "add", op, "--name", op, "--currency", "GBP", "--country-code", cc).code == 0
    assert cli("agreement", "load", _roaming_agreement(tmp_path)).code == 0
    return cli


def _one_line_error(r: Any) -> str:
    assert r.code != 0
    assert "Traceback" not in r.err
    (line,) = r.err.strip().splitlines()
    return str(line)


def test_a_bad_roaming_declaration_is_a_one_line_error_and_declares_nothing(
    roaming_loaded: Any, tmp_path: Path
) -> None:
    cli = roaming_loaded
    usage = json.loads((EXAMPLES / "usage.json").read_text())
    stray = json.loads(json.dumps(usage))
    stray["outbound"][0]["homeTadig"] = "XXXYY"
    bad = tmp_path / "stray.json"
    bad.write_text(json.dumps(stray), encoding="utf-8")
    line = _one_line_error(_declare(cli, bad, "2026-12", "ALFA"))
    assert str(bad) in line
    assert "SMS MO of home TADIG XXXYY on visitor TADIG AAZOR: not a direction of agreement" in line

    comma = json.loads(json.dumps(usage))
    comma["inbound"][2]["usage"] = "12,5"
    bad.write_text(json.dumps(comma), encoding="utf-8")
    line = _one_line_error(_declare(cli, bad, "2026-12", "ALFA"))
    assert "usage.inbound[2].usage: '12,5' is not a number" in line

    line = _one_line_error(_declare(cli, EXAMPLES / "usage.json", "2025-12", "ALFA"))
    assert "period 2025-12 is before agreement RA-ALFA-BRAVO-2026's valid_from 2026-01-01" in line
    line = _one_line_error(_declare(cli, EXAMPLES / "usage.json", "2026-12", "CHARLIE"))
    assert "CHARLIE" in line

    csv = tmp_path / "usage.csv"
    csv.write_text("a_number,b_number,start_time,duration_s\n", encoding="utf-8")
    line = _one_line_error(cli("usage", "import", csv, "--agreement", RA, "--period", "2026-12",
                               "--declarer", "ALFA"))  # fmt: skip
    assert f"agreement {RA} is a roaming agreement: its usage is a BWRP usage report" in line

    assert cli("usage", "list", "--json").json() == []  # nothing declared by any of these
    assert _declare(cli, EXAMPLES / "usage.json", "2026-12", "ALFA").code == 0
    line = _one_line_error(cli("reconcile", "--period", "2026-12", "--agreement", RA))
    assert "waiting for BRAVO (provider) for ALFA-on-BRAVO; BRAVO (customer) for BRAVO-on-ALFA" in line


def test_a_bad_roaming_agreement_names_its_line(cli: Any, tmp_path: Path) -> None:
    path = _roaming_agreement(tmp_path)
    path.write_text(path.read_text().replace('service = "SMS MO"', 'service = "SMS MARS"'), encoding="utf-8")
    line = _one_line_error(cli("agreement", "load", path))
    assert str(path) in line and "unknown service 'SMS MARS'" in line


def test_a_shortfall_on_no_traffic_is_a_commitment_line(roaming_loaded: Any, tmp_path: Path) -> None:
    """Only usage of a service without a discount (MTC) in ALFA's direction: ALFA's deal revenue commitment
    (12500) is wholly short with no service group to put it on — it is the line ALFA-commitment, in the
    calculation's statement lines and in the cycle's statement (BRAVO's contract revenue commitment of 2000,
    with no usage at all, likewise)."""
    cli = roaming_loaded
    usage = tmp_path / "mtc.json"
    row = {"service": "MTC", "usage": "10", "charges": "1", "homeTadig": "AAZOR", "visitorTadig": "AAZVF"}
    usage.write_text(json.dumps({"inbound": [row], "outbound": []}), encoding="utf-8")
    expected = _calc_lines(cli, _roaming_agreement(tmp_path), usage, tmp_path)
    assert expected == {"ALFA-commitment": Decimal("12500.00"), "BRAVO-commitment": Decimal("2000.00")}
    for op in ("ALFA", "BRAVO"):
        assert _declare(cli, usage, "2026-12", op).code == 0
    (report,) = cli("reconcile", "--period", "2026-12", "--json").json()
    assert {ln["service"]: Decimal(str(ln["agreed_amount"])) for ln in report["lines"]} == expected
    st = cli("statement", "show", report["statement"], "--json").json()
    assert [(ln["service"], ln["customer"], ln["provider"]) for ln in st["document"]["lines"]] == [
        ("ALFA-commitment", "ALFA", "BRAVO"), ("BRAVO-commitment", "BRAVO", "ALFA")
    ]  # fmt: skip
