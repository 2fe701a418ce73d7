"""`o2o recon …`: the reconciliation engine on plain files, without a workspace or database.

`o2o recon match OURS THEIRS --out DIR [--json]` matches two usage files record by record and prints the
counts; the detail files go to DIR (see `o2o.reconcile.file_match`). The engine is called through
`o2o.services.plain_files`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from o2o.cli.output import print_json, print_table
from o2o.cli.rate import EngineOpt, SparkMasterOpt
from o2o.services import plain_files

recon_app = typer.Typer(
    name="recon",
    help="Reconciliation on plain files: match two parties' CDRs record by record.",
    no_args_is_help=True,
)


@recon_app.command("match")
def match(
    ours: Annotated[Path, typer.Argument(help="our usage file (CSV or Parquet)")],
    theirs: Annotated[Path, typer.Argument(help="their usage file (CSV or Parquet)")],
    *,
    out: Annotated[Path, typer.Option("--out", help="folder for the detail Parquet files")],
    time_tolerance: Annotated[int, typer.Option(help="seconds between start times of a pair")] = 5,
    duration_tolerance: Annotated[int, typer.Option(help="seconds of duration gap still 'partial'")] = 1,
    ours_country: Annotated[str | None, typer.Option(help="our country code (expands trunk)")] = None,
    theirs_country: Annotated[str | None, typer.Option(help="their country code")] = None,
    ours_trunk: Annotated[str, typer.Option(help="our national trunk prefix")] = "0",
    theirs_trunk: Annotated[str, typer.Option(help="their national trunk prefix")] = "0",
    ours_international: Annotated[str, typer.Option(help="our international prefix")] = "00",
    theirs_international: Annotated[str, typer.Option(help="their international prefix")] = "00",
    correct_clock: Annotated[bool, typer.Option(help="subtract the estimated clock offset first")] = False,
    clock_window: Annotated[int, typer.Option(help="seconds searched to estimate the clock offset")] = 60,
    memory_limit: Annotated[str, typer.Option(help="DuckDB memory limit; past it work spills")] = "1500MB",
    engine: EngineOpt = "duckdb",
    spark_master: SparkMasterOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Match OURS against THEIRS: exact, partial, duration_mismatch, only_ours, only_theirs, duplicates."""
    report = plain_files.match_usage_files(
        ours,
        theirs,
        out,
        time_tolerance_s=time_tolerance,
        duration_tolerance_s=duration_tolerance,
        ours_plan=plain_files.numbering_plan(ours_country, ours_trunk, ours_international),
        theirs_plan=plain_files.numbering_plan(theirs_country, theirs_trunk, theirs_international),
        correct_clock=correct_clock,
        clock_window_s=clock_window,
        memory_limit=memory_limit,
        engine=engine,
        spark_master=spark_master,
    )
    if as_json:
        print_json(report)
        return
    print_table("record matching", ["figure", "value"], [(k, v) for k, v in report.items()])


def register(app: typer.Typer) -> None:
    """Add the `recon` command group to `app`."""
    app.add_typer(recon_app, name="recon")
