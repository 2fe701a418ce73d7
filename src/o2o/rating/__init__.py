"""Rating engine: price usage by an agreement's tariff (DuckDB over Parquet; no store access).

Entry points: `rate_usage` (canonical usage Parquet → rated, summary and unrated Parquet plus totals),
`rate_recurring` (fixed monthly charges of a period) and `usage_file_to_canonical` (a CSV/Parquet usage
file with raw numbers and ISO times → canonical Parquet). See docs/agreements.md for the tariff rules.
"""

from o2o.rating.engine import rate_usage
from o2o.rating.recurring import rate_recurring
from o2o.rating.result import RatingResult, RecurringLine, UnratedReason
from o2o.rating.usage_file import usage_file_to_canonical

__all__ = [
    "RatingResult",
    "RecurringLine",
    "UnratedReason",
    "rate_recurring",
    "rate_usage",
    "usage_file_to_canonical",
]
