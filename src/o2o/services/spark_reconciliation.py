"""A period's usage lines rated and matched on Spark (`o2o reconcile --engine spark`, a job on a worker with
`O2O_ENGINE=spark`): the same steps as on DuckDB (`o2o.spark`), the same statement.

`period_reconciliation.reconcile_period` asks `spark_lines` for the function that gives a usage line's
result; with the DuckDB engine there is none and the period's batch runs as it does. On Spark each line is
done when the statement needs it, one after the other: both sides rated (or what `o2o rate` stored for the
same declaration and agreement revision, whichever engine stored it), their records matched, the summaries
compared by the same `_line_of`. One SparkSession runs one line at a time (the steps are its temp views);
within a line Spark spreads the work over the cluster's cores. The detail files are Parquet folders,
which the summaries' and the evidence's readers read as files.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from o2o.bootstrap import Workspace
from o2o.domain.agreements import Agreement, Role, Service
from o2o.domain.declarations import Declaration
from o2o.domain.periods import Period
from o2o.services.plain_files import check_engine, spark_for
from o2o.services.rating import stored_or_rate
from o2o.services.reconciliation import LineResult, RatedSide, _line_of, match_options, summary_lines

LineFn = Callable[[Agreement, Service], LineResult]


def spark_lines(
    ws: Workspace,
    per: Period,
    usage: list[tuple[Agreement, str, Service]],
    decls: dict[str, dict[tuple[str, Role], Declaration]],
    runs: dict[str, Any],
    correct_clock: bool,
    engine: str,
    spark: Any = None,
    spark_master: str | None = None,
) -> LineFn | None:
    """None for the DuckDB engine; for Spark, what rates and matches one usage line of `usage` (agreement,
    its revision's sha256, service) on the caller's session `spark`, else one on `spark_master`, else on
    `O2O_SPARK_MASTER` (else `local[*]`), into the agreement's run folder of `runs`."""
    check_engine(engine)
    if engine == "duckdb" or not usage:
        return None
    from o2o.spark import match_files_spark

    session = spark_for(spark, spark_master)
    shas = {ag.id: sha for ag, sha, _ in usage}

    def side(ag: Agreement, decl: Declaration, out: Any) -> RatedSide:
        rating = stored_or_rate(ws, ag, shas[ag.id], decl, per, out, spark=session)
        return rating, summary_lines(rating)

    def line(ag: Agreement, svc: Service) -> LineResult:
        prov, cust = decls[ag.id][(svc.id, Role.PROVIDER)], decls[ag.id][(svc.id, Role.CUSTOMER)]
        run_dir = runs[ag.id].folder
        base = run_dir / svc.id
        provider = side(ag, prov, base / "rated-provider")
        customer = side(ag, cust, base / "rated-customer")
        options = match_options(ag, correct_clock, run_dir)
        paths = ws.lake.resolve(prov.lake_path), ws.lake.resolve(cust.lake_path)
        match = match_files_spark(session, *paths, options, base / "match")
        return _line_of(ag, svc, provider, customer, match)

    return line
