"""Builders for rating tests: an agreement around one tariff, and canonical usage Parquet from rows."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from o2o.domain.agreements import Agreement, Party, RoundingPolicy, Service
from o2o.domain.money import Rounding
from o2o.domain.operators import NumberingPlan
from o2o.domain.tariffs import ServiceKind, Tariff

SERVICE = "svc"


def agreement(
    tariff: Tariff,
    kind: ServiceKind = ServiceKind.VOICE,
    *,
    tz: str = "UTC",
    record_decimals: int | None = None,
    line_decimals: int | None = None,
    mode: Rounding = Rounding.HALF_UP,
    currency: str = "EUR",
) -> Agreement:
    parties = (Party("ALFA", NumberingPlan("49")), Party("BETA", NumberingPlan("7", "8", "810")))
    services = (
        Service(SERVICE, kind, "ALFA", "BETA", tariff),
        Service("other", ServiceKind.SMS, "BETA", "ALFA", Tariff(unit=tariff.unit)),
    )
    return Agreement(
        id="AB-1",
        name="AB-1",
        currency=currency,
        timezone=tz,
        valid_from=date(2026, 1, 1),
        parties=parties,
        services=services,
        rounding=RoundingPolicy(mode, record_decimals, line_decimals),
    )


def epoch(text: str) -> int:
    """`2026-10-01T12:00:00Z` (or with an offset) as epoch seconds."""
    return int(datetime.fromisoformat(text).astimezone(UTC).timestamp())


def write_usage(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Canonical usage Parquet; each row gives b_number, start_epoch and duration_s/volume at least."""
    cols: dict[str, pa.Array] = {
        "line": pa.array([r.get("line", i + 1) for i, r in enumerate(rows)], pa.int64()),
        "record_id": pa.array([r.get("record_id", f"r{i + 1}") for i, r in enumerate(rows)], pa.string()),
        "service": pa.array([r.get("service", SERVICE) for r in rows], pa.string()),
        "a_number": pa.array([r.get("a_number", "79160000001") for r in rows], pa.string()),
        "b_number": pa.array([r.get("b_number") for r in rows], pa.string()),
        "a_raw": pa.array([None for _ in rows], pa.string()),
        "b_raw": pa.array([r.get("b_number") for r in rows], pa.string()),
        "start_epoch": pa.array([r.get("start_epoch") for r in rows], pa.int64()),
        "duration_s": pa.array([r.get("duration_s") for r in rows], pa.int64()),
        "volume": pa.array([r.get("volume") for r in rows], pa.int64()),
        "route": pa.array([None for _ in rows], pa.string()),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(cols), path)
    return path


def read_rows(path: Path) -> list[dict[str, Any]]:
    return pq.read_table(path).to_pylist()
