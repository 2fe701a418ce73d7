"""Privacy mode: a party pseudonymises its usage file on its own side before declaring it to the hub.

Each number is normalised as the import would normalise it (the declarer's numbering plan) and replaced by
its pseudonym under the secret the two parties share (`o2o.domain.pseudonyms`); each record gets the
b-number's destination under the agreement's tariff, found by the rating engine's own lookup
(`o2o.rating.engine.write_destined`). The hub then rates the records by their declared destinations and
matches them by their pseudonyms, with the figures and pairs it would find in the clear files. Rows the
import would reject are rejected here, with their reasons in a rejects file beside the output that stays
with the declarer (the reasons quote the numbers); rows outside a period are left to the hub to reject.
Streaming throughout: DuckDB reads, normalises, looks up and writes in bounded memory (it spills).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from o2o.bootstrap import Workspace
from o2o.domain.errors import ImportRefusedError, ValidationError
from o2o.domain.periods import Period
from o2o.domain.pseudonyms import read_secret
from o2o.domain.usage import DECLARED_DESTINATION
from o2o.services.registry_data import get_agreement, require_party
from o2o.services.usage import detect_format, import_spec, resolve_service

_OUT_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
_ALL_TIME = (-(2**62), 2**62)  # no period here: the hub's import rejects a row outside its period
MEMORY_LIMIT = (
    "1GB"  # DuckDB spills past it (the import's own limit): files larger than memory stream through
)


@dataclass(frozen=True, slots=True)
class PseudonymisedFile:
    out: Path
    agreement: str
    service: str
    declarer: str
    rows: int
    rejected: int
    without_destination: int
    rejects_path: Path | None


def pseudonymise_usage(
    ws: Workspace,
    path: Path,
    agreement_id: str,
    secret_file: Path,
    out: Path,
    declarer: str,
    service: str | None = None,
    fmt: str | None = None,
) -> PseudonymisedFile:
    """Write `path` (the declarer's usage of the agreement's service) pseudonymised to `out` (CSV or
    Parquet, by its name); rows the import would reject go to `OUT.rejects.csv` instead."""
    from o2o.lake.pseudonymised import (
        file_columns,
        pseudonym_tables,
        pseudonymised_columns,
        rows_without_destination,
    )
    from o2o.lake.usage_import import normalise_usage
    from o2o.rating.engine import write_destined

    secret = read_secret(secret_file)
    agreement, _ = get_agreement(ws, agreement_id)
    with ws.uow() as uow:
        uow.operators.get(declarer)
    require_party(agreement, declarer)
    service_id = resolve_service(agreement, service)
    if not path.is_file():
        raise ValidationError(f"{path}: no such file")
    fmt = detect_format(path, fmt)
    if fmt == "tap3":
        raise ValidationError(f"{path}: a TAP file is imported as it is; pseudonymise usage CSV or Parquet")
    out_fmt = _OUT_FORMATS.get(out.suffix.lower())
    if out_fmt is None:
        raise ValidationError(f"--out {out}: name it .csv or .parquet (the format it is written in)")
    if out.resolve() == path.resolve():
        raise ValidationError(f"--out {out}: is the input file; write the pseudonymised file elsewhere")
    if not out.parent.is_dir():
        raise ValidationError(f"--out {out}: no such folder {out.parent}")
    if DECLARED_DESTINATION in file_columns(path, fmt):
        raise ValidationError(
            f"{path}: already pseudonymised (it has a {DECLARED_DESTINATION} column); declare it as it is"
        )
    any_month = Period.parse("2000-01")  # bounds replaced just below: every time is taken
    spec = replace(
        import_spec(agreement, service_id, any_month, declarer),
        period_start=_ALL_TIME[0], period_end=_ALL_TIME[1], period="(any)",
    )  # fmt: skip
    rejects_path = out.with_name(out.name + ".rejects.csv")
    with tempfile.TemporaryDirectory(prefix=".o2o-pseudonymise-", dir=out.parent) as tmp:
        work = Path(tmp)
        canonical, rejects = work / "usage.parquet", work / "rejects.csv"
        counts = normalise_usage(path, fmt, spec, canonical, rejects, work)
        if counts.rows == 0:
            rejects.replace(rejects_path)
            raise ImportRefusedError(
                f"{path}: no valid rows ({counts.rejected} rejected; reasons in {rejects_path})"
            )
        staged = work / f"out.{out_fmt}"
        write_destined(
            agreement,
            service_id,
            canonical,
            staged,
            pseudonymised_columns(),
            memory_limit=MEMORY_LIMIT,
            temp_directory=work / "spill",
            tables=pseudonym_tables(secret),
        )
        without = rows_without_destination(staged, out_fmt)
        staged.replace(out)
        if counts.rejected:
            rejects.replace(rejects_path)
        else:
            rejects_path.unlink(missing_ok=True)  # an older run's, about another file
    return PseudonymisedFile(
        out, agreement.id, service_id, declarer, counts.rows, counts.rejected, without,
        rejects_path if counts.rejected else None,
    )  # fmt: skip
