"""Use cases on plain files, without a workspace or database: rate a usage file by an agreement file
(`o2o rate file`), match two usage files (`o2o recon match`), net a file of obligations (`o2o net solve`),
and write a synthetic network (`o2o generate`).

The CLI calls these, never the engines: the rules of reading the files and combining the options (which
numbering plan a file uses, a recurring service rated without usage, caps in which currency) live here.
The engines are imported inside each function: they load DuckDB, Arrow, NumPy, OR-Tools and HiGHS, which a
command that only lists its options must not wait for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from o2o.domain.errors import ValidationError
from o2o.domain.money import D
from o2o.domain.obligations import Obligation
from o2o.domain.operators import NumberingPlan
from o2o.domain.periods import Period
from o2o.domain.tariffs import ServiceKind
from o2o.domain.usage import numbers_required
from o2o.netting.results import DEFAULT_HUB

if TYPE_CHECKING:
    from o2o.netting import NettingResult, SetOffCap
    from o2o.rating.result import RatingResult
    from o2o.synth import GeneratedNetwork, SynthOptions

# The clearing house's id in payments when `o2o net solve` is not told another (`o2o.netting.results` is
# light: the standard library and the domain).
NETTING_HUB: Final = DEFAULT_HUB


def rate_usage_file(
    usage: Path | None,
    *,
    agreement_file: Path,
    service: str,
    out: Path | None,
    declarer: str | None = None,
    period: str | None = None,
    memory_limit: str | None = None,
    warn: Callable[[str], None] | None = None,
    engine: str = "duckdb",
    spark_master: str | None = None,
    spark: Any = None,
) -> RatingResult:
    """Rate USAGE for one service of an agreement file, writing rated, summary and unrated Parquet to OUT;
    a recurring service is rated for `period` from the agreement alone. Without `period`, records that
    span more than one month are all rated, and `warn` is told so in one line. `engine` "spark" rates on
    Spark (`o2o.spark.rate_usage_spark`, the same steps): the file is made canonical here, the outputs are
    then Parquet folders of the same columns."""
    check_engine(engine)
    from o2o.rating import rate_recurring, rate_usage, usage_file_to_canonical
    from o2o.schemas.agreement import load_agreement_file, to_domain

    agreement = to_domain(load_agreement_file(agreement_file))
    svc = agreement.service(service)
    month = Period.parse(period) if period else None
    if svc.kind is ServiceKind.RECURRING:
        if month is None:
            raise ValidationError(f"service {service} is recurring: give --period YYYY-MM")
        if usage is not None:
            raise ValidationError(f"service {service} is recurring: it is rated without a usage file")
        return rate_recurring(agreement, service, month)
    if usage is None or out is None:
        raise ValidationError(f"service {service} is rated from usage: give USAGE and --out DIR")
    plan = agreement.party(declarer or svc.provider).numbering
    canonical = out / "usage.parquet"
    usage_file_to_canonical(usage, plan, canonical, numbers_required=numbers_required(svc))
    if month is None and warn is not None:
        from o2o.services.rating import month_span_warning

        warning = month_span_warning(usage, canonical, agreement.timezone)
        if warning is not None:
            warn(warning)
    if engine == "spark":
        from o2o.spark import rate_usage_spark

        return rate_usage_spark(spark_for(spark, spark_master), agreement, service, [canonical], out, month)
    return rate_usage(agreement, service, [canonical], out, month, memory_limit=memory_limit)


ENGINES: Final = ("duckdb", "spark")


def check_engine(engine: str) -> None:
    """Refuse an engine that is not one of `ENGINES`, in one line."""
    if engine not in ENGINES:
        raise ValidationError(f"engine {engine!r} is not duckdb or spark")


def spark_for(spark: Any, master: str | None) -> Any:
    """The caller's SparkSession, else one on `master`, else on `O2O_SPARK_MASTER` (default `local[*]`)."""
    if spark is not None:
        return spark
    from o2o.spark import spark_session

    return spark_session(master or spark_master_setting())


def spark_master_setting() -> str:
    """The Spark master of the environment (`O2O_SPARK_MASTER`), `local[*]` when unset."""
    from o2o.config import Settings

    return Settings().spark_master or "local[*]"


def numbering_plan(country: str | None, trunk: str, international: str) -> NumberingPlan | None:
    """How one side writes numbers; None without a country (national numbers are then left as written)."""
    if country is None:
        return None
    return NumberingPlan(country_code=country, trunk_prefix=trunk, international_prefix=international)


def match_usage_files(
    ours: Path,
    theirs: Path,
    out: Path,
    *,
    time_tolerance_s: int,
    duration_tolerance_s: int,
    ours_plan: NumberingPlan | None,
    theirs_plan: NumberingPlan | None,
    correct_clock: bool,
    clock_window_s: int,
    memory_limit: str,
    engine: str = "duckdb",
    spark_master: str | None = None,
    spark: Any = None,
) -> dict[str, Any]:
    """Match OURS against THEIRS record by record; the detail files go to OUT; returns the counts.

    `engine` "spark" runs the same steps on Spark (`o2o.spark`): on the caller's SparkSession `spark`, else
    on one started on `spark_master` (else `O2O_SPARK_MASTER`, else `local[*]`); the detail files are then
    Parquet folders of the same columns."""
    from o2o.reconcile import MatchOptions, match_files

    check_engine(engine)

    options = MatchOptions(
        time_tolerance_s=time_tolerance_s,
        duration_tolerance_s=duration_tolerance_s,
        ours_plan=ours_plan,
        theirs_plan=theirs_plan,
        correct_clock=correct_clock,
        clock_window_s=clock_window_s,
        memory_limit=memory_limit,
    )
    if engine == "spark":
        from o2o.spark import match_files_spark

        return match_files_spark(spark_for(spark, spark_master), ours, theirs, options, out).as_report()
    return match_files(ours, theirs, options, out).as_report()


def _caps(texts: Sequence[str], obligations: list[Obligation], settle_in: str | None) -> list[SetOffCap]:
    """Caps written `OPERATOR=AMOUNT[:CURRENCY]`; without a currency, the settlement currency or the file's
    only one."""
    from o2o.netting import SetOffCap

    currencies = sorted({o.currency for o in obligations})
    caps: list[SetOffCap] = []
    for text in texts:
        operator, sep, rest = text.partition("=")
        amount, _, currency = rest.partition(":")
        if not sep or not operator.strip() or not amount.strip():
            raise ValidationError(f"cap {text!r} is not OPERATOR=AMOUNT[:CURRENCY]")
        code = currency.strip().upper() or settle_in or (currencies[0] if len(currencies) == 1 else "")
        if not code:
            raise ValidationError(f"cap {text!r} needs a currency: the file has {', '.join(currencies)}")
        caps.append(SetOffCap(operator.strip(), code, D(amount.strip())))
    return caps


def net_obligations_file(
    obligations: Path,
    *,
    mode: str,
    fx: Path | None = None,
    settle_in: str | None = None,
    fx_date: str | None = None,
    withhold: Sequence[str] = (),
    opt_out: Sequence[str] = (),
    caps: Sequence[str] = (),
    hub: str = NETTING_HUB,
    milp_seconds: float = 5.0,
) -> NettingResult:
    """Net a CSV file of obligations (converted at a rate table's rates when `fx` and `settle_in` are given)."""
    from o2o.netting import DirectOptions, NettingMode, net_obligations
    from o2o.netting.csv_input import read_obligations_csv, read_rate_table_csv

    netting_mode = NettingMode.parse(mode)
    if (fx is None) != (settle_in is None):
        raise ValidationError("--fx and --settle-in go together")
    # The date is checked whether or not a rate table comes with it: a bad value is never ignored.
    on: date | None = None
    if fx_date:
        try:
            on = date.fromisoformat(fx_date)
        except ValueError:
            raise ValidationError(f"--fx-date {fx_date!r} is not a date (YYYY-MM-DD)") from None
        if fx is None:
            raise ValidationError(f"--fx-date {fx_date} picks the rates of a table: give it with --fx FILE")
    items = read_obligations_csv(obligations)
    table = None
    if fx is not None:
        table = read_rate_table_csv(fx, on)
    code = settle_in.upper() if settle_in else None
    return net_obligations(
        items,
        mode=netting_mode,
        withheld=withhold,
        opt_out=opt_out,
        caps=_caps(caps, items, code),
        fx=table,
        settle_in=code,
        hub=hub,
        direct_options=DirectOptions(milp_seconds=milp_seconds),
    )


def netting_document(result: NettingResult) -> dict[str, Any]:
    """A netting round as the JSON document `o2o net solve --json` prints."""
    from o2o.netting.report import netting_document as document

    return document(result)


def network_options(period: str | None = None, **options: Any) -> SynthOptions:
    """The generator's options (`o2o generate`, `o2o demo`), checked; `period` is written YYYY-MM."""
    from o2o.synth import SynthOptions

    if period is not None:
        options["period"] = Period.parse(period)
    return SynthOptions(**options).check()


def planned_calls(options: SynthOptions) -> int:
    """How many calls the generator will write (the length of a progress bar)."""
    from o2o.synth import planned_calls as planned

    return planned(options)


def generate_network(
    options: SynthOptions, out: Path, *, force: bool, progress: Callable[[int], None] | None = None
) -> GeneratedNetwork:
    """Write a synthetic network into OUT (refused when OUT holds one, unless `force`)."""
    from o2o.synth import generate_network as generate

    return generate(options, out, force=force, progress=progress)
