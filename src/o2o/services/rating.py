"""Rating imported declarations: each active declaration of an agreement and period priced by its tariff.

`o2o rate --agreement ID --period P [--declarer OP]` writes each declaration's priced records to the lake
under `rated/AGREEMENT/PERIOD/SERVICE/DECLARER/DECLARATION-AGREEMENTSHA/` (rated, summary and unrated
Parquet, and `rating.json`, the figures and what they were rated from), where a settlement team can read
them. Reconciliation then reuses such a folder instead of rating again, as long as it was rated from the
same declaration (its id: a re-declaration is a new id), the same agreement revision (its sha256) and the
same version of o2o; otherwise it rates in its own run folder. Recurring services are priced from the
agreement alone and write nothing.

The folder is written in staging and renamed into place, `rating.json` last: a folder without it, or
with other keys, is never reused.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from o2o import __version__
from o2o.bootstrap import Workspace
from o2o.domain.agreements import Agreement
from o2o.domain.declarations import Declaration
from o2o.domain.errors import NotFoundError
from o2o.domain.periods import Period, zone
from o2o.domain.tariffs import ServiceKind
from o2o.services.registry_data import get_agreement, require_party

if TYPE_CHECKING:
    from o2o.rating import RatingResult

MANIFEST = "rating.json"
# Whether a reconciliation's run folder keeps the usage's columns in its rated records: no, they are keyed
# by (src, line) into the declaration's lake file (writing every record's numbers and ids again cost as
# much as rating them). `o2o rate` writes them whole, for a settlement team to read.
RUN_RATED_COLUMNS = False
# The engine's three files, by the name `rating.json` keeps of each (as the engine named them).
_FILES = ("rated", "summary", "unrated")


def rate_declarations(
    ws: Workspace,
    agreement_id: str,
    period: str,
    declarer: str | None = None,
    *,
    engine: str = "duckdb",
    spark_master: str | None = None,
    spark: Any = None,
) -> list[RatingResult]:
    """Rate every active declaration of the agreement and period (one party's with `declarer`) into its
    rated folder, replacing what an earlier `o2o rate` wrote there; and the recurring services. `engine`
    "spark" rates on Spark (the caller's session `spark`, else one on `spark_master`, else on
    `O2O_SPARK_MASTER`): the same figures, the files Parquet folders."""
    # Imported here: the rating engine loads DuckDB and Arrow, which the cycle's light commands never need.
    from o2o.rating import rate_recurring
    from o2o.services.plain_files import check_engine, spark_for

    check_engine(engine)

    per = Period.parse(period)
    agreement, stored = get_agreement(ws, agreement_id)
    if declarer is not None:
        require_party(agreement, declarer)
    with ws.uow() as uow:
        decls = uow.declarations.all(agreement.id, str(per))
    if declarer is not None:
        decls = [d for d in decls if d.declarer == declarer]
    session = spark_for(spark, spark_master) if engine == "spark" and decls else None
    if session is not None:
        results = [rate_declaration(ws, agreement, stored.sha256, d, per, session) for d in decls]
    else:  # every service's declarations rated in one run on DuckDB
        rated = rate_declarations_together(ws, agreement, stored.sha256, decls, per)
        results = [rated[d.id] for d in decls]
    results += [
        rate_recurring(agreement, s.id, per) for s in agreement.services if s.kind is ServiceKind.RECURRING
    ]
    if not results:
        raise NotFoundError(f"nothing to rate for {agreement.id} in {per}: no declarations imported")
    return results


def rated_folder(ws: Workspace, agreement_sha: str, decl: Declaration) -> Path:
    """Where `o2o rate` writes the priced records of one declaration under one agreement revision."""
    return (
        ws.lake.root / "rated" / decl.agreement_id / decl.period / decl.service / decl.declarer
        / f"{decl.id}-{agreement_sha[:12]}"
    )  # fmt: skip


def _key(agreement_sha: str, decl: Declaration, per: Period) -> dict[str, str]:
    """What a stored rating was rated from; it is reused only when all of it is the same again."""
    return {
        "declaration": decl.id,
        "declaration_sha256": decl.sha256,
        "agreement": decl.agreement_id,
        "agreement_sha256": agreement_sha,
        "service": decl.service,
        "period": str(per),
        "o2o": __version__,
    }


def rate_declaration(
    ws: Workspace,
    agreement: Agreement,
    agreement_sha: str,
    decl: Declaration,
    per: Period,
    spark: Any = None,
) -> RatingResult:
    """Rate one declaration into its rated folder (staged, then renamed into place) and return the result
    with the folder's paths; on the SparkSession `spark` when given (the files are then Parquet folders)."""
    with ws.lake.staging() as stage:
        staged = stage / "rated"
        result = _rate(agreement, decl.service, ws.lake.resolve(decl.lake_path), staged, per, spark)
        return _store_rated(ws, agreement_sha, decl, per, result, staged)


def rate_declarations_together(
    ws: Workspace, agreement: Agreement, agreement_sha: str, decls: list[Declaration], per: Period
) -> dict[str, RatingResult]:
    """`rate_declaration` for declarations of an agreement, by declaration id: all rated in one run on
    DuckDB (`rating.lines.rate_lines`: a rating's fixed cost paid once), each as it is rated alone. A
    service whose rating failed raises its error, the services before it stored."""
    from o2o.rating.lines import LineRating, rate_lines

    by_service: dict[str, list[Declaration]] = {}
    for d in decls:
        by_service.setdefault(d.service, []).append(d)
    with ws.lake.staging() as stage:
        lines = [
            LineRating(
                agreement,
                service,
                [([ws.lake.resolve(d.lake_path)], stage / f"rated-{d.id}") for d in group],
                per,
            )
            for service, group in by_service.items()
        ]
        out: dict[str, RatingResult] = {}
        for line, group, got in zip(lines, by_service.values(), rate_lines(lines), strict=True):
            if isinstance(got, Exception):
                raise got
            for d, result, (_, staged) in zip(group, got, line.groups, strict=True):
                out[d.id] = _store_rated(ws, agreement_sha, d, per, result, staged)
        return out


def _store_rated(
    ws: Workspace, agreement_sha: str, decl: Declaration, per: Period, result: RatingResult, staged: Path
) -> RatingResult:
    """A declaration's rating, written to `staged` (a folder of a staging folder), renamed into its rated
    folder with `rating.json` (what it was rated from, its figures); the result with the folder's paths."""
    final = rated_folder(ws, agreement_sha, decl)
    manifest = {"rated_from": _key(agreement_sha, decl, per), "result": _figures(result)}
    (staged / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():
        # The same key again (the same declaration and agreement): the new files replace the old,
        # which go out with the staging folder.
        final.rename(staged.parent / f"replaced-{staged.name}")
    staged.rename(final)
    files = manifest["result"]["files"]
    return dataclasses.replace(
        result,
        rated_path=final / files["rated"],
        summary_path=final / files["summary"],
        unrated_path=final / files["unrated"],
    )


def _rate(
    agreement: Agreement,
    service: str,
    usage: Path,
    out: Path,
    per: Period,
    spark: Any = None,
    connection: Any = None,
    usage_columns: bool = True,
) -> RatingResult:
    """One usage file rated on DuckDB (a cursor of `connection` when given), or on the SparkSession `spark`;
    the rated records keyed by (src, line) alone without `usage_columns`."""
    if spark is not None:
        from o2o.spark import rate_usage_spark

        return rate_usage_spark(spark, agreement, service, [usage], out, per, usage_columns=usage_columns)
    from o2o.rating import rate_usage

    return rate_usage(
        agreement, service, [usage], out, per, connection=connection, usage_columns=usage_columns
    )


def stored_rating(ws: Workspace, agreement_sha: str, decl: Declaration, per: Period) -> RatingResult | None:
    """The rating `o2o rate` stored for this declaration, agreement revision and period, if there is one
    with all its files; None when it must be rated again."""
    from o2o.rating.result import RatingResult

    folder = rated_folder(ws, agreement_sha, decl)
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if manifest.get("rated_from") != _key(agreement_sha, decl, per):
        return None
    f = manifest["result"]
    files = f.get("files", {})
    # A file (DuckDB) or a folder of parts (Spark): either is read as the rated Parquet.
    if sorted(files) != sorted(_FILES) or not all((folder / n).exists() for n in files.values()):
        return None
    return RatingResult(
        agreement_id=f["agreement"],
        service=f["service"],
        currency=f["currency"],
        period=f["period"],
        records=int(f["records"]),
        rated=int(f["rated"]),
        unrated={str(k): int(v) for k, v in f["unrated"].items()},
        billed_quantity=int(f["billed_quantity"]),
        quantity_unit=f["quantity_unit"],
        amount=Decimal(f["amount"]),
        amount_unrounded=Decimal(f["amount_unrounded"]),
        rated_path=folder / files["rated"],
        summary_path=folder / files["summary"],
        unrated_path=folder / files["unrated"],
    )


def _figures(r: RatingResult) -> dict[str, Any]:
    """A usage rating's figures as JSON (decimals as strings): what `stored_rating` gives back."""
    return {
        "agreement": r.agreement_id,
        "service": r.service,
        "currency": r.currency,
        "period": r.period,
        "records": r.records,
        "rated": r.rated,
        "unrated": dict(sorted(r.unrated.items())),
        "billed_quantity": r.billed_quantity,
        "quantity_unit": r.quantity_unit,
        "amount": str(r.amount),
        "amount_unrounded": str(r.amount_unrounded),
        "files": {name: path.name for name in _FILES if (path := getattr(r, f"{name}_path")) is not None},
    }


def months_spanned(canonical: Path, timezone: str) -> list[Period]:
    """The calendar months (in the agreement's time zone) from the first record's start to the last's,
    of a canonical usage file; empty when no record has a start time."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    starts = pq.read_table(canonical, columns=["start_epoch"]).column("start_epoch")
    bounds = pc.min_max(starts).as_py()
    if bounds["min"] is None:
        return []
    tz = zone(timezone)
    first, last = (datetime.fromtimestamp(bounds[k], tz) for k in ("min", "max"))
    months = [Period(first.year, first.month)]
    while months[-1] < Period(last.year, last.month):
        months.append(months[-1].next)
    return months


def month_span_warning(usage: Path, canonical: Path, timezone: str) -> str | None:
    """One line when a usage file rated without a period spans more than one month: its records are all
    rated together, which a settlement of one month rarely wants."""
    months = months_spanned(canonical, timezone)
    if len(months) < 2:
        return None
    return (
        f"warning: {usage}: the records span {len(months)} months ({months[0]} to {months[-1]} in {timezone}) "
        "and were all rated; give --period YYYY-MM to rate one month"
    )


def stored_or_rate(
    ws: Workspace,
    agreement: Agreement,
    agreement_sha: str,
    decl: Declaration,
    per: Period,
    out_dir: Path,
    connection: Any = None,
    spark: Any = None,
) -> RatingResult:
    """What reconciliation rates a declaration with: the rating `o2o rate` stored for it when its key is
    unchanged (`stored_rating`), else a new rating written to `out_dir` (the run's own folder), on a
    cursor of `connection` when given (a period's batch reuses one per worker), or on the SparkSession
    `spark` when given. A run folder's rated records are keyed by their usage record (src, line), without
    the usage's own columns: the declaration's lake file holds them (`RUN_RATED_COLUMNS`)."""
    stored = stored_rating(ws, agreement_sha, decl, per)
    if stored is not None:
        return stored
    path = ws.lake.resolve(decl.lake_path)
    return _rate(agreement, decl.service, path, out_dir, per, spark, connection, RUN_RATED_COLUMNS)


def stored_or_rate_lines(
    ws: Workspace,
    lines: Sequence[tuple[Agreement, str, list[Declaration], list[Path]]],
    per: Period,
    connection: Any = None,
) -> list[list[RatingResult] | Exception]:
    """`stored_or_rate` for usage lines (agreement, its sha256, a service's declarations, their `out_dirs`
    folders), each line's ratings in its declarations' order: those not stored rated in one run on
    DuckDB (`rating.lines.rate_lines`: a rating's fixed cost paid once for all), each with what it gets
    alone; a line's error, when rating it failed, in place of its ratings."""
    from o2o.rating.lines import LineRating, rate_lines

    stored = [[stored_rating(ws, sha, d, per) for d in decls] for _, sha, decls, _ in lines]
    jobs, todo = [], []
    for n, (agreement, _, decls, out_dirs) in enumerate(lines):
        missing = [i for i, r in enumerate(stored[n]) if r is None]
        if missing:
            groups = [([ws.lake.resolve(decls[i].lake_path)], out_dirs[i]) for i in missing]
            jobs.append(LineRating(agreement, decls[0].service, groups, per))
            todo.append((n, missing))
    errors: dict[int, Exception] = {}
    for (n, missing), got in zip(
        todo, rate_lines(jobs, connection=connection, usage_columns=RUN_RATED_COLUMNS), strict=True
    ):
        if isinstance(got, Exception):
            errors[n] = got
            continue
        for i, result in zip(missing, got, strict=True):
            stored[n][i] = result
    return [errors.get(n) or [r for r in line if r is not None] for n, line in enumerate(stored)]
