"""Use cases for usage declarations: import a file (atomic, idempotent), list and show declarations.

An import validates and normalises the file into the lake's staging area, then in one transaction
supersedes the previous declaration (kept as history), records the new one and moves the files into
place. A killed import leaves no declaration and, after the next write sweeps, no stray file.
A re-declaration with rejected rows, or with far fewer rows than the one it replaces, is refused unless
the caller confirms it (`replace=True`): nothing is written but the rejects file that says why.
Imports in one process may run side by side; their commits take turns.
A TAP 3 file (`fmt="tap3"`, with the grammar's folder in `Tap3Options`) is first read into a usage CSV of
the service's kind (`o2o.tap3.usage_csv`), whose audit control totals must match its events, and then
imported as that CSV; each accepted record then gets its event's charge, tax, currency and exchange rate
(`o2o.lake.usage_amounts`), which `declaration_amounts` sums.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError

from o2o.bootstrap import Workspace
from o2o.domain.agreements import Agreement, Role
from o2o.domain.declarations import Declaration, DeclarationStatus, Replacement, UsageTotals
from o2o.domain.errors import (
    ConcurrencyError,
    ImportRefusedError,
    NotFoundError,
    O2OError,
    ValidationError,
)
from o2o.domain.identity import Actor
from o2o.domain.periods import Period
from o2o.domain.usage import numbers_required
from o2o.services.registry_data import get_agreement, require_party
from o2o.store.repositories import now_utc

if TYPE_CHECKING:
    from o2o.lake.usage_import import ImportSpec
    from o2o.tap3.usage_csv import TapSummary

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
# A roaming agreement's usage: a BWRP usage report (JSON), declared by `roaming_cycle.import_roaming_usage`.
ROAMING_FORMAT = "bwrp"
# Imports may run side by side in one process (the demo); their commits take turns, since each reads
# and then appends (declarations, ledger) and SQLite refuses a write on a snapshot another write outdated.
_COMMITS = threading.Lock()
COMMIT_LOCK = _COMMITS  # taken by every declaring use case (`roaming_cycle` too)


@dataclass(frozen=True, slots=True)
class Tap3Options:
    """How a TAP 3 file is read: the grammar's folder (`--grammar`), a RAP file whose returned events are
    left out (`--rap`), and whether audit control totals that differ from the events still import."""

    grammar: Path | None = None
    rap: Path | None = None
    accept_audit_mismatch: bool = False


@dataclass(frozen=True, slots=True)
class ImportResult:
    declaration: Declaration
    already_imported: bool
    replaced: Declaration | None = None
    tap3: TapSummary | None = None  # what a TAP file held (`--format tap3`)

    @property
    def replacement(self) -> Replacement | None:
        """What this import replaced, with the figures before and after."""
        return Replacement(self.replaced, self.declaration.totals) if self.replaced else None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def declared_sha256(path: Path, rap: Path | None = None) -> str:
    """The identity of what is declared: the file's sha256; for a TAP file read with a RAP file (which
    leaves events out), the sha256 of both files' sha256 joined, so that the same TAP file with another
    RAP file is another declaration."""
    if rap is None:
        return file_sha256(path)
    if not rap.is_file():
        raise ValidationError(f"--rap {rap}: no such file")
    return hashlib.sha256(f"{file_sha256(path)}+rap:{file_sha256(rap)}".encode()).hexdigest()


def detect_format(path: Path, fmt: str | None) -> str:
    if fmt:
        if fmt not in ("csv", "parquet", "tap3", ROAMING_FORMAT):
            raise ValidationError(f"--format {fmt!r}: expected csv, parquet, tap3 or {ROAMING_FORMAT}")
        return fmt
    if path.suffix.lower() == ".json":
        return ROAMING_FORMAT
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        raise ValidationError(f"{path}: cannot tell the format from the name; pass --format csv|parquet")
    return found


def resolve_service(agreement: Agreement, service: str | None) -> str:
    if service:
        return agreement.service(service).id
    if len(agreement.services) == 1:
        return agreement.services[0].id
    names = ", ".join(s.id for s in agreement.services)
    raise ValidationError(f"agreement {agreement.id} has several services ({names}); name one with --service")


def import_usage(
    ws: Workspace,
    path: Path,
    agreement_id: str,
    period: str,
    declarer: str,
    service: str | None = None,
    fmt: str | None = None,
    replace: bool = False,
    tap3: Tap3Options | None = None,
    via: Actor | None = None,
) -> ImportResult:
    """Import one party's usage file for an agreement, service and period.

    A file that would replace the active declaration with rejected rows, or with fewer than
    `REPLACE_MIN_ROWS_PERCENT` of its rows, is refused unless `replace` is given. `via`: the hub's caller
    who uploaded it (named on the ledger).
    """
    if not path.is_file():
        raise ValidationError(f"{path}: no such file")
    fmt = detect_format(path, fmt)
    if fmt == ROAMING_FORMAT:
        raise ValidationError(
            f"{path}: a BWRP usage report declares a roaming agreement's two directions at once "
            "(`o2o usage import REPORT.json --format bwrp`, `roaming_cycle.import_roaming_usage`)"
        )
    if fmt == "tap3" and (tap3 is None or tap3.grammar is None):
        raise ValidationError(
            f"{path}: --format tap3 needs --grammar DIR (the folder of the TAP 3 ASN.1 grammar)"
        )
    if fmt != "tap3" and tap3 is not None and (tap3.grammar or tap3.rap or tap3.accept_audit_mismatch):
        raise ValidationError("--grammar, --rap and --accept-audit-mismatch go with --format tap3")
    per = Period.parse(period)
    agreement, _ = get_agreement(ws, agreement_id)
    with ws.uow() as uow:
        uow.operators.get(declarer)
    require_party(agreement, declarer)
    service_id = resolve_service(agreement, service)
    role = agreement.role_of(declarer, service_id)
    with ws.uow() as uow:
        active = uow.declarations.active(agreement.id, service_id, str(per), declarer)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="usage-sha256") as hashing:
        # With a declaration in place the file may be the same one again: hash before any work.
        # Otherwise nothing can match, and the hash is worked out while DuckDB reads the file.
        rap = tap3.rap if fmt == "tap3" and tap3 is not None else None
        sha_pending = hashing.submit(declared_sha256, path, rap)
        if active is not None and active.sha256 == sha_pending.result():
            return ImportResult(active, already_imported=True)
        return _import_new(
            ws, path, fmt, per, agreement, declarer, service_id, role, active, sha_pending, replace, tap3, via
        )


def _import_new(
    ws: Workspace,
    path: Path,
    fmt: str,
    per: Period,
    agreement: Agreement,
    declarer: str,
    service_id: str,
    role: Role,
    active: Declaration | None,
    sha_pending: Future[str],
    replace: bool,
    tap3: Tap3Options | None = None,
    via: Actor | None = None,
) -> ImportResult:
    """Normalise the file into staging and commit it as a new declaration (superseding `active`)."""
    from o2o.lake.usage_import import normalise_usage  # DuckDB and Arrow: only to import

    spec = import_spec(agreement, service_id, per, declarer)
    decl_id = f"DCL-{per.year}{per.month:02d}-{secrets.token_hex(6)}"
    final_dir = ws.lake.usage_dir(agreement.id, str(per), service_id, declarer)
    with ws.lake.staging() as stage:
        staged_usage, staged_rejects = stage / "usage.parquet", stage / "rejects.csv"
        summary = None
        if fmt == "tap3" and tap3 is not None:
            amounts = stage / "tap3-amounts.csv"
            summary = _tap3_to_csv(path, tap3, spec.kind.value, stage / "tap3.csv", amounts)
            counts = normalise_usage(stage / "tap3.csv", "csv", spec, staged_usage, staged_rejects, stage)
            if counts.rows:
                _attach_tap3_amounts(staged_usage, amounts, summary, stage)
        else:
            counts = normalise_usage(path, fmt, spec, staged_usage, staged_rejects, stage)
        final_dir.mkdir(parents=True, exist_ok=True)
        kept = final_dir / f"{decl_id}.refused-rejects.csv"  # where a refused file's rejects are kept
        if counts.rows == 0:
            staged_rejects.replace(kept)
            raise ImportRefusedError(f"{path}: no valid rows ({counts.rejected} rejected; reasons in {kept})")
        totals = UsageTotals(counts.rows, counts.rejected, counts.duration_s, counts.volume)
        if active is not None and not replace:
            _refuse_worse(path, Replacement(active, totals), staged_rejects, kept)
        declaration = Declaration(
            id=decl_id,
            agreement_id=agreement.id,
            service=service_id,
            period=str(per),
            declarer=declarer,
            role=role,
            sha256=sha_pending.result(),
            source_name=path.name,
            lake_path=ws.lake.relative(final_dir / f"{decl_id}.parquet"),
            rejects_path=ws.lake.relative(final_dir / f"{decl_id}.rejects.csv") if counts.rejected else None,
            totals=totals,
            status=DeclarationStatus.ACTIVE,
            created_at=now_utc(),
            supersedes=active.id if active else None,
        )
        _commit(ws, agreement, declaration, staged_usage, staged_rejects, final_dir, active, via)
    return ImportResult(declaration, already_imported=False, replaced=active, tap3=summary)


def import_spec(agreement: Agreement, service_id: str, per: Period, declarer: str) -> ImportSpec:
    """What `declarer`'s rows of the service in the period are checked against."""
    from o2o.lake.usage_import import ImportSpec
    from o2o.rating.deck import destination_names

    svc = agreement.service(service_id)
    start, end = per.bounds_epoch(agreement.timezone)
    plan = agreement.party(declarer).numbering
    return ImportSpec(
        service_id, svc.kind, plan, start, end, str(per), numbers_required(svc),
        destination_names(service_id, svc.tariff),
    )  # fmt: skip


def _tap3_to_csv(path: Path, options: Tap3Options, kind: str, out: Path, amounts: Path) -> TapSummary:
    """The TAP file's events of the service's kind as a usage CSV at `out` (their charge, tax and exchange
    rate at `amounts`); refused when its audit control totals do not match its events (unless accepted) or
    it holds no call events."""
    from o2o.tap3.events import UsageKind
    from o2o.tap3.grammar import load_grammar
    from o2o.tap3.rap import read_returns
    from o2o.tap3.usage_csv import tap_to_usage_csv

    if kind not in {k.value for k in UsageKind} - {UsageKind.NONE.value}:
        raise ValidationError(f"{path}: a TAP file holds voice, SMS or data usage, not {kind}")
    if options.grammar is None:
        raise ValidationError(f"{path}: --format tap3 needs --grammar DIR")
    grammar = load_grammar(options.grammar)
    returns = read_returns(options.rap, grammar) if options.rap else None
    summary = tap_to_usage_csv(path, grammar, UsageKind(kind), out, returns, amounts)
    if summary.events == 0:
        raise ImportRefusedError(f"{path}: a TAP {summary.kind} with no call events: nothing to import")
    if returns is not None and summary.file_sequence not in returns.sequences():
        raise ValidationError(
            f"{options.rap}: returns no event of {path} (file sequence {summary.file_sequence}); "
            f"it returns events of {', '.join(sorted(returns.sequences())) or 'no file'}"
        )
    if summary.audit_mismatches and not options.accept_audit_mismatch:
        raise ImportRefusedError(
            f"{path}: the audit control totals do not match the call events: "
            f"{'; '.join(summary.audit_mismatches)}; pass --accept-audit-mismatch to import it anyway"
        )
    return summary


def _attach_tap3_amounts(staged_usage: Path, amounts: Path, summary: TapSummary, stage: Path) -> None:
    """Each accepted record of a TAP file with its event's charge, tax (in the batch's currency, with its
    decimal places) and exchange rate (`o2o.lake.usage_amounts`); what they sum to goes in the summary."""
    from o2o.lake.usage_amounts import attach_amounts
    from o2o.tap3.usage_csv import rate_places

    try:
        declared = attach_amounts(
            staged_usage,
            amounts,
            currency=summary.currency,
            decimal_places=summary.decimal_places,
            rate_places=rate_places(summary.exchange_rates),
            local_currency=summary.local_currency,
            workdir=stage,
        )
    except ValueError as exc:
        raise ValidationError(f"{summary.path}: {exc}") from None
    summary.declared = [d.as_dict() for d in declared]


def declaration_amounts(ws: Workspace, declaration: Declaration) -> list[dict[str, object]] | None:
    """A declaration's charge and tax per currency, summed from its stored records; None when its records
    carry no amounts (only a TAP file's do)."""
    from o2o.lake.usage_amounts import declared_amounts

    path = ws.lake.resolve(declaration.lake_path)
    if path.suffix != ".parquet" or not path.is_file():
        return None
    found = declared_amounts(path)
    return None if found is None else [d.as_dict() for d in found]


def _refuse_worse(path: Path, replacement: Replacement, staged_rejects: Path, kept: Path) -> None:
    """Refuse a replacement that needs confirming; its rejects file is kept so the user can see why."""
    concerns = replacement.concerns()
    if not concerns:
        return
    reasons = ""
    if replacement.after.rejected:
        # Kept beside the declarations (not moved into place as one): the next import there sweeps it.
        staged_rejects.replace(kept)
        reasons = f" (reasons in {kept})"
    old = replacement.replaced
    raise ImportRefusedError(
        f"{path}: not imported: it would replace {old.id} ({old.source_name}) with {' and '.join(concerns)}"
        f"{reasons}; {replacement.figures()}; pass --replace to replace it"
    )


def _commit(
    ws: Workspace,
    agreement: Agreement,
    declaration: Declaration,
    staged_usage: Path,
    staged_rejects: Path,
    final_dir: Path,
    active: Declaration | None,
    via: Actor | None = None,
) -> None:
    """Record the declaration and move its files into place in one step; undo the move on failure."""
    # The settlement services (ledger, netting) are needed only when a declaration is recorded.
    from o2o.services.cycle_common import hub_signer, provenance, register
    from o2o.services.settlement import note_declaration

    moved: list[Path] = []
    hub = hub_signer(ws)
    try:
        with _COMMITS, ws.uow() as uow:
            ws.lake.sweep_orphans(final_dir, uow.declarations.paths())
            if active is not None:
                uow.declarations.supersede(active.id)
            uow.declarations.add(declaration)
            note_declaration(uow, agreement, declaration.period, hub, cause=declaration.id)
            # On the ledger too: the events feed (`o2o.services.events`) reads what happened from it.
            register(
                uow,
                hub,
                "declaration.imported",
                f"{declaration.agreement_id}/{declaration.period}",
                {
                    "declaration": declaration.id,
                    "declarer": declaration.declarer,
                    "service": declaration.service,
                    "rows": declaration.totals.rows,
                    "rejected": declaration.totals.rejected,
                    "sha256": declaration.sha256,
                    "supersedes": declaration.supersedes,
                    **provenance(via),
                },
            )
            target = ws.lake.resolve(declaration.lake_path)
            staged_usage.replace(target)
            moved.append(target)
            if declaration.rejects_path:
                rejects = ws.lake.resolve(declaration.rejects_path)
                staged_rejects.replace(rejects)
                moved.append(rejects)
            uow.commit()
    except IntegrityError:
        for p in moved:
            p.unlink(missing_ok=True)
        raise ConcurrencyError(
            f"another import of {declaration.agreement_id} {declaration.service} {declaration.period} "
            f"by {declaration.declarer} committed first; run the import again"
        ) from None
    except BaseException:
        for p in moved:
            p.unlink(missing_ok=True)
        raise


def list_declarations(
    ws: Workspace, agreement_id: str | None = None, period: str | None = None, history: bool = False
) -> list[Declaration]:
    if period:
        Period.parse(period)
    with ws.uow() as uow:
        if agreement_id:
            uow.agreements.get(agreement_id)
        return uow.declarations.all(agreement_id, period, include_superseded=history)


def get_declaration(ws: Workspace, declaration_id: str) -> tuple[Declaration, list[Declaration]]:
    """A declaration and the full history of its (agreement, service, period, declarer)."""
    with ws.uow() as uow:
        d = uow.declarations.get(declaration_id)
        return d, uow.declarations.history(d.agreement_id, d.service, d.period, d.declarer)


def active_declarations(ws: Workspace, agreement_id: str, period: str) -> list[Declaration]:
    """The active declarations of an agreement and period (both parties, every service)."""
    decls = list_declarations(ws, agreement_id, period)
    if not decls:
        raise NotFoundError(f"no declarations for {agreement_id} in {period}")
    return decls


# --- a folder of usage files, matched to declarations by name ------------------------------------------

USAGE_FILE_NAME = "AGREEMENT/SERVICE.DECLARER.csv|.parquet"


@dataclass(frozen=True, slots=True)
class UsageFile:
    """A file of a usage folder and the declaration its name names."""

    path: Path
    agreement_id: str
    service: str
    declarer: str


def usage_files(ws: Workspace, folder: Path, declarer: str | None = None) -> list[UsageFile]:
    """Every usage file of `folder` (`AGREEMENT/SERVICE.DECLARER.csv|parquet`, as `o2o generate` writes
    them), matched by name to a loaded agreement, one of its services and one of its parties; with
    `declarer`, only that party's files. A name that matches nothing is an error naming it."""
    if not folder.is_dir():
        raise ValidationError(f"{folder}: no such folder")
    # Dot files (editor swap files, .DS_Store) are nobody's declaration.
    paths = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    agreements: dict[str, Agreement | None] = {}
    found: list[UsageFile] = []
    wrong: list[str] = []
    for path in paths:
        matched = _match_name(ws, folder, path, agreements)
        if isinstance(matched, str):
            wrong.append(f"{path}: {matched}")
        elif declarer is None or matched.declarer == declarer:
            found.append(matched)
    if wrong:
        more = f"; {len(wrong) - 1} more file(s) do not match either" if len(wrong) > 1 else ""
        raise ValidationError(f"{wrong[0]}; usage files are named {USAGE_FILE_NAME} in the folder{more}")
    if not found:
        whose = f" of {declarer}" if declarer else ""
        raise ValidationError(f"{folder}: no usage files{whose} (named {USAGE_FILE_NAME})")
    return found


def _match_name(
    ws: Workspace, folder: Path, path: Path, agreements: dict[str, Agreement | None]
) -> UsageFile | str:
    """The declaration a file's name names, or why it names none."""
    parts = path.relative_to(folder).parts
    if len(parts) != 2:
        return "not in an agreement's folder"
    agreement_id, name = parts
    stem, _, suffix = name.rpartition(".")
    service, _, declarer = stem.rpartition(".")
    if f".{suffix.lower()}" not in FORMATS or not service or not declarer:
        return "not named SERVICE.DECLARER.csv|.parquet"
    if agreement_id not in agreements:
        with ws.uow() as uow:
            stored = uow.agreements.find(agreement_id)
        agreements[agreement_id] = get_agreement(ws, agreement_id)[0] if stored else None
    agreement = agreements[agreement_id]
    if agreement is None:
        return f"no agreement {agreement_id} is loaded"
    if service not in {s.id for s in agreement.services}:
        return f"agreement {agreement_id} has no service {service}"
    if declarer not in agreement.operator_ids:
        return f"{declarer} is not a party to agreement {agreement_id}"
    return UsageFile(path, agreement_id, service, declarer)


def import_usage_dir(
    ws: Workspace, folder: Path, period: str, declarer: str | None = None
) -> list[tuple[UsageFile, ImportResult]]:
    """Import every usage file of `folder` for `period`, each as its own declaration (`import_usage`).
    Every name is matched before anything is imported; a file refused stops the run, and running it
    again skips the files already imported (same sha256)."""
    Period.parse(period)
    files = usage_files(ws, folder, declarer)
    done: list[tuple[UsageFile, ImportResult]] = []
    for f in files:
        try:
            done.append((f, import_usage(ws, f.path, f.agreement_id, period, f.declarer, f.service)))
        except O2OError as exc:
            raise type(exc)(
                f"{exc} ({len(done)} of {len(files)} files imported before it; the command run again "
                "skips those)"
            ) from None
    return done
