"""`o2o rate …`: the rating engine from the command line.

`rate` is a command group. `o2o rate file USAGE --agreement-file A.toml --service S --out DIR` rates any
usage file (CSV or Parquet with the canonical input columns) by the agreement file's tariff, with no
workspace or database; a recurring service takes `--period` and no usage file.
The store-integrated form `o2o rate --agreement ID --period P [--declarer OP] [--json]` belongs to this
group's callback: add it with `@rate_app.callback(invoke_without_command=True)` and run it when
`ctx.invoked_subcommand is None` (group options come before a subcommand, so `rate file …` is unchanged).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from o2o.cli.output import print_json, print_table
from o2o.services import plain_files

if TYPE_CHECKING:
    # `o2o.rating` loads DuckDB: `cycle` commands import this module for `rate_app` alone.
    from o2o.rating.result import RatingResult

# `--engine` and `--spark-master`, the same on `o2o rate`, `o2o rate file`, `o2o recon match` and `o2o reconcile`.
EngineOpt = Annotated[
    str, typer.Option("--engine", help="duckdb (one machine) or spark (the same steps on Spark)")
]
SparkMasterOpt = Annotated[
    str | None,
    typer.Option(
        "--spark-master",
        help="Spark master URL with --engine spark (default: O2O_SPARK_MASTER, else local[*])",
    ),
]

rate_app = typer.Typer(
    name="rate",
    help="Rate usage by an agreement's tariff (prefixes, rate versions, bands, increments, tiers).",
    no_args_is_help=True,
)


def render(result: RatingResult, as_json: bool) -> None:
    """Print a rating result as JSON (decimals as strings) or as tables."""
    if as_json:
        print_json(result.to_dict())
        return
    rows: list[tuple[str, object]] = [
        ("agreement", result.agreement_id),
        ("service", result.service),
        ("period", result.period or "(all usage)"),
        ("records", result.records),
        ("rated", result.rated),
        ("unrated", result.unrated_count),
    ]
    rows += [(f"  {reason}", count) for reason, count in sorted(result.unrated.items())]
    rows += [
        ("billed quantity", f"{result.billed_quantity} {result.quantity_unit}"),
        ("amount", f"{result.amount} {result.currency}"),
        ("amount before line rounding", str(result.amount_unrounded)),
    ]
    print_table("Rating", ["figure", "value"], rows)
    if result.recurring:
        print_table(
            "Recurring charges",
            ["charge", "days", "of month", "monthly", "amount"],
            [
                (r.name, r.days_in_service, r.days_in_month, r.monthly_amount, r.amount)
                for r in result.recurring
            ],
        )
    if result.rated_path is not None:
        print(f"rated: {result.rated_path}\nsummary: {result.summary_path}\nunrated: {result.unrated_path}")


@rate_app.command("file")
def rate_file(
    usage: Annotated[
        Path | None, typer.Argument(help="usage file (CSV or Parquet); none for a recurring service")
    ] = None,
    *,
    agreement_file: Annotated[Path, typer.Option("--agreement-file", help="agreement TOML")],
    service: Annotated[str, typer.Option("--service", help="the service to rate")],
    out: Annotated[Path | None, typer.Option("--out", help="folder for the Parquet outputs")] = None,
    declarer: Annotated[
        str | None,
        typer.Option("--declarer", help="party whose numbering plan the file uses (default: provider)"),
    ] = None,
    period: Annotated[
        str | None, typer.Option("--period", help="YYYY-MM: rate only this month (required for recurring)")
    ] = None,
    memory_limit: Annotated[str | None, typer.Option(help="DuckDB memory limit, e.g. 2GB")] = None,
    engine: EngineOpt = "duckdb",
    spark_master: SparkMasterOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Rate USAGE for one service of an agreement file; write rated, summary and unrated Parquet to OUT."""
    result = plain_files.rate_usage_file(
        usage,
        agreement_file=agreement_file,
        service=service,
        out=out,
        declarer=declarer,
        period=period,
        memory_limit=memory_limit,
        warn=lambda line: print(line, file=sys.stderr),
        engine=engine,
        spark_master=spark_master,
    )
    render(result, as_json)


def register(app: typer.Typer) -> None:
    app.add_typer(rate_app, name="rate")
