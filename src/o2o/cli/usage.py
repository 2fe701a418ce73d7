"""Commands for usage declarations: `usage import|list|show|import-dir|pseudonymise`."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from o2o.cli.context import workspace
from o2o.cli.output import console, print_json, print_table
from o2o.domain.declarations import Declaration
from o2o.domain.errors import ValidationError
from o2o.services import usage as svc

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
usage_app = typer.Typer(help="Usage declarations (CDR files) of each party.", no_args_is_help=True)


def declaration_row(d: Declaration, home: Path | None = None) -> dict[str, Any]:
    lake = (home / "lake") if home else None
    return {
        "id": d.id,
        "agreement": d.agreement_id,
        "service": d.service,
        "period": d.period,
        "declarer": d.declarer,
        "role": d.role.value,
        "rows": d.totals.rows,
        "rejected": d.totals.rejected,
        "duration_s": d.totals.duration_s,
        "volume": d.totals.volume,
        "sha256": d.sha256,
        "source": d.source_name,
        "status": d.status.value,
        "supersedes": d.supersedes,
        "created_at": d.created_at,
        "lake_path": str(lake / d.lake_path) if lake else d.lake_path,
        "rejects_path": str(lake / d.rejects_path) if lake and d.rejects_path else d.rejects_path,
    }


DECLARATION_COLUMNS = [
    "id",
    "agreement",
    "service",
    "period",
    "declarer",
    "role",
    "rows",
    "rejected",
    "status",
]


def print_declarations(rows: list[dict[str, Any]], title: str = "Declarations") -> None:
    print_table(title, DECLARATION_COLUMNS, ([r[c] for c in DECLARATION_COLUMNS] for r in rows))


@usage_app.command("import")
def usage_import(
    file: Annotated[
        Path,
        typer.Argument(help="Usage file (CSV, Parquet or TAP 3; a roaming agreement's: BWRP usage JSON)."),
    ],
    agreement: Annotated[str, typer.Option("--agreement", help="Agreement id.")],
    period: Annotated[str, typer.Option("--period", help="Settlement period YYYY-MM.")],
    declarer: Annotated[str, typer.Option("--declarer", help="The declaring operator.")],
    service: Annotated[str | None, typer.Option("--service", help="Service id of the agreement.")] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format", help="csv, parquet, tap3 or bwrp (default: csv, parquet or bwrp by suffix)."
        ),
    ] = None,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Replace the active declaration even if this file has rejected rows or far fewer rows.",
        ),
    ] = False,
    grammar: Annotated[
        Path | None,
        typer.Option("--grammar", help="tap3: the folder of the TAP 3 ASN.1 grammar (*.asn, *.asn1)."),
    ] = None,
    rap: Annotated[
        Path | None, typer.Option("--rap", help="tap3: a RAP file; the events it returns are left out.")
    ] = None,
    accept_audit_mismatch: Annotated[
        bool,
        typer.Option(
            "--accept-audit-mismatch",
            help="tap3: import even when the audit control totals differ from the events.",
        ),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Validate, normalise and store one party's usage file; rejected rows go to a rejects file."""
    ws = workspace()
    if svc.detect_format(file, fmt) == svc.ROAMING_FORMAT:
        if service or grammar or rap or accept_audit_mismatch:
            raise ValidationError(
                "--service, --grammar, --rap and --accept-audit-mismatch do not go with --format bwrp "
                "(a BWRP usage report declares both directions of a roaming agreement)"
            )
        _import_roaming(ws.home, file, agreement, period, declarer, json_out)
        return
    tap3 = (
        svc.Tap3Options(grammar, rap, accept_audit_mismatch)
        if grammar or rap or accept_audit_mismatch
        else None
    )
    with console.status(f"importing {file}", spinner="dots") if not json_out else nullcontext():
        result = svc.import_usage(
            ws, file, agreement, period, declarer, service, fmt, replace=replace, tap3=tap3
        )
    row = declaration_row(result.declaration, ws.home)
    row["already_imported"] = result.already_imported
    row["replaced"] = result.replaced.id if result.replaced else None
    swap = result.replacement
    row["replacement"] = (
        {"replaced": swap.replaced.id, "before": asdict(swap.before), "after": asdict(swap.after)}
        if swap
        else None
    )
    row["tap3"] = result.tap3.as_dict() if result.tap3 else None
    if json_out:
        print_json(row)
        return
    if result.tap3:
        say(_tap3_line(result.tap3.as_dict()))
    rejected = f"{row['rejected']} rejected" + (
        f" (reasons in {row['rejects_path']})" if row["rejects_path"] else ""
    )
    if result.already_imported:
        say(f"{file}: already imported as {row['id']} (same sha256; {rejected}); nothing to do")
        return
    say(
        f"imported {file} as {row['id']}: {row['rows']} rows accepted, {rejected}"
        + (f"; replaces {swap.replaced.id}: {swap.figures()}" if swap else "")
    )


def _import_roaming(
    home: Path, file: Path, agreement: str, period: str, declarer: str, json_out: bool
) -> None:
    """A roaming agreement's usage report: one declaration per direction, printed one a line."""
    from o2o.services.roaming_cycle import import_roaming_usage  # the roaming engine: only to declare

    results = import_roaming_usage(workspace(), file, agreement, period, declarer)
    rows = []
    for result in results:
        row = declaration_row(result.declaration, home)
        row["already_imported"] = result.already_imported
        row["replaced"] = result.replaced.id if result.replaced else None
        rows.append(row)
    if json_out:
        print_json(rows)
        return
    if all(r.already_imported for r in results):
        ids = ", ".join(r["id"] for r in rows)
        say(f"{file}: already imported as {ids} (same sha256); nothing to do")
        return
    for row in rows:
        replaces = f"; replaces {row['replaced']}" if row["replaced"] else ""
        say(
            f"imported {file} as {row['id']}: {row['service']} ({row['role']}), "
            f"{row['rows']} usage rows{replaces}"
        )


def _tap3_line(tap: dict[str, Any]) -> str:
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(tap["by_usage"].items()))
    line = (
        f"TAP {tap['kind']} {tap['sender']} to {tap['recipient']} no. {tap['file_sequence']}: "
        f"{tap['events']} call events ({kinds}), charge {tap['charge']} {tap['currency']}, "
        f"tax {tap['tax']} {tap['currency']}; {tap['rows']} taken as usage rows, {tap['returned']} returned by RAP"
    )
    for d in tap["declared"]:  # what the declaration's records carry, summed from them
        line += (
            f"; stored with the {d['records']} records: charge {d['charge']} {d['currency']}, "
            f"tax {d['tax']} {d['currency']}"
        )
    if tap["audit_mismatches"]:
        line += "; audit mismatch accepted: " + "; ".join(tap["audit_mismatches"])
    return line


def say(line: str) -> None:
    """One line as written: no wrapping at the terminal's width, no markup read in paths."""
    console.print(escape(line), soft_wrap=True, highlight=False)


@usage_app.command("list")
def usage_list(
    agreement: Annotated[str | None, typer.Option("--agreement")] = None,
    period: Annotated[str | None, typer.Option("--period")] = None,
    history: Annotated[bool, typer.Option("--history", help="Include superseded declarations.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """List declarations (active ones unless --history)."""
    ws = workspace()
    rows = [declaration_row(d, ws.home) for d in svc.list_declarations(ws, agreement, period, history)]
    if json_out:
        print_json(rows)
    else:
        print_declarations(rows)


@usage_app.command("show")
def usage_show(declaration_id: str, json_out: JsonOpt = False) -> None:
    """Show one declaration and the history of its agreement, service, period and declarer."""
    ws = workspace()
    d, history = svc.get_declaration(ws, declaration_id)
    row = declaration_row(d, ws.home)
    row["history"] = [h.id for h in history]
    amounts = svc.declaration_amounts(ws, d)
    if amounts is not None:  # a TAP file's records: their charge and tax per currency
        row["amounts"] = amounts
    if json_out:
        print_json(row)
    else:
        if amounts is not None:
            row["amounts"] = "; ".join(
                f"{a['records']} records: charge {a['charge']} {a['currency']}, tax {a['tax']} {a['currency']}"
                for a in amounts
            )
        print_table(f"Declaration {d.id}", ["field", "value"], ((k, v) for k, v in row.items()))


@usage_app.command("import-dir")
def usage_import_dir(
    folder: Annotated[Path, typer.Argument(help="Folder of AGREEMENT/SERVICE.DECLARER.csv files.")],
    period: Annotated[str, typer.Option("--period", help="Settlement period YYYY-MM.")],
    declarer: Annotated[
        str | None, typer.Option("--declarer", help="Only this party's files (default: every party's).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Import every usage file of a folder, each matched to its agreement, service and declarer by name
    (docs/usage-import.md); a name that matches nothing is refused before anything is imported."""
    ws = workspace()
    with console.status(f"importing {folder}", spinner="dots") if not json_out else nullcontext():
        done = svc.import_usage_dir(ws, folder, period, declarer)
    rows = []
    for f, result in done:
        row = declaration_row(result.declaration, ws.home)
        rows.append({"file": str(f.path), **row, "already_imported": result.already_imported,
                     "replaced": result.replaced.id if result.replaced else None})  # fmt: skip
    if json_out:
        print_json(rows)
        return
    for r in rows:
        name = Path(r["file"]).relative_to(folder)
        if r["already_imported"]:
            say(f"{name}: already imported as {r['id']} (same sha256)")
        else:
            say(f"{name}: {r['id']}, {r['rows']} rows accepted, {r['rejected']} rejected"
                + (f" (reasons in {r['rejects_path']})" if r["rejects_path"] else "")
                + (f"; replaces {r['replaced']}" if r["replaced"] else ""))  # fmt: skip
    new = sum(1 for r in rows if not r["already_imported"])
    say(f"{len(rows)} file(s) of {folder} for {period}: {new} imported, {len(rows) - new} already imported")


@usage_app.command("pseudonymise")
def usage_pseudonymise(
    file: Annotated[Path, typer.Argument(help="Usage file (CSV or Parquet) with subscriber numbers.")],
    agreement: Annotated[
        str, typer.Option("--agreement", help="Agreement id (its tariff gives destinations).")
    ],
    secret_file: Annotated[
        Path, typer.Option("--secret-file", help="The secret both parties share (32 bytes or more).")
    ],
    out: Annotated[Path, typer.Option("--out", help="The pseudonymised file to write (.csv or .parquet).")],
    declarer: Annotated[
        str, typer.Option("--declarer", help="The declaring operator (its numbering plan reads the numbers).")
    ],
    service: Annotated[str | None, typer.Option("--service", help="Service id of the agreement.")] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="csv or parquet (default: by the file's suffix).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Replace each number by its keyed hash and add the b-number's destination (run on the declarer's
    side: the hub never sees the numbers nor the secret); declare the output with `usage import`."""
    from o2o.services.pseudonymise import pseudonymise_usage

    ws = workspace()
    with console.status(f"pseudonymising {file}", spinner="dots") if not json_out else nullcontext():
        done = pseudonymise_usage(ws, file, agreement, secret_file, out, declarer, service, fmt)
    row = {
        "out": str(done.out), "agreement": done.agreement, "service": done.service,
        "declarer": done.declarer, "rows": done.rows, "rejected": done.rejected,
        "without_destination": done.without_destination,
        "rejects_path": str(done.rejects_path) if done.rejects_path else None,
    }  # fmt: skip
    if json_out:
        print_json(row)
        return
    rejected = f"{done.rejected} rejected" + (
        f" (reasons in {done.rejects_path})" if done.rejects_path else ""
    )
    say(
        f"pseudonymised {file} to {done.out}: {done.rows} rows ({done.without_destination} without a "
        f"destination of {done.service}), {rejected}"
    )


@usage_app.command("tap3")
def usage_tap3(
    file: Annotated[Path, typer.Argument(help="A TAP 3 file.")],
    grammar: Annotated[Path, typer.Option("--grammar", help="The folder of the TAP 3 ASN.1 grammar.")],
    out: Annotated[Path, typer.Option("--out", help="CSV of every call event with its TAP amounts.")],
    rap: Annotated[
        Path | None, typer.Option("--rap", help="A RAP file; the events it returns are marked.")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Decode a TAP 3 file on its own: every call event to a CSV, the batch and its audit totals reported."""
    from o2o.services.tap3_files import tap_events_file

    tap = tap_events_file(file, grammar, out, rap)
    if json_out:
        print_json(tap)
        return
    if tap["events"] == 0:
        say(
            f"TAP {tap['kind']} {tap['sender']} to {tap['recipient']} no. {tap['file_sequence']}: no call events"
        )
        return
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(tap["by_usage"].items()))
    say(
        f"TAP {tap['kind']} {tap['sender']} to {tap['recipient']} no. {tap['file_sequence']}: {tap['events']} call "
        f"events ({kinds}) written to {out}; charge {tap['charge']} {tap['currency']}, tax {tap['tax']} "
        f"{tap['currency']}; {tap['returned']} returned by RAP"
    )
    if tap["audit_mismatches"]:
        say("audit control totals differ from the events: " + "; ".join(tap["audit_mismatches"]))


def register(app: typer.Typer) -> None:
    app.add_typer(usage_app, name="usage")
