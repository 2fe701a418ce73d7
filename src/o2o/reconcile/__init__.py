"""The reconciliation engine: record matching of two usage files, aggregate comparison, tolerance verdict.

Pure computations over files and values; imports `o2o.domain`, DuckDB and OR-Tools only.
- `match_files(ours, theirs, options, out_dir) -> MatchSummary`: record matching (see `file_match`);
- `batch_connection(temp_directory)`: one DuckDB for many runs in turn (matching, summaries, rating);
- `compare_summaries`, `compare_by_day`, `total_amounts`, `read_summary`: rated totals side by side;
- `verdict(provider_amount, customer_amount, policy, days, currency) -> Verdict`: agreed or disputed;
- `write_evidence(details_dir, days, out) -> Evidence`: the differing records of the disputed days.
"""

from o2o.reconcile.aggregates import (
    ComparisonLine,
    DayComparison,
    Figures,
    SummaryLine,
    compare_by_day,
    compare_summaries,
    read_summary,
    total_amounts,
)
from o2o.reconcile.evidence import Evidence, write_evidence
from o2o.reconcile.file_match import batch_connection, match_files
from o2o.reconcile.match_model import MatchClass, MatchOptions, MatchSummary
from o2o.reconcile.verdict import Outcome, Verdict, allowed_difference, verdict, within_tolerance

__all__ = [
    "ComparisonLine",
    "DayComparison",
    "Evidence",
    "Figures",
    "MatchClass",
    "MatchOptions",
    "MatchSummary",
    "Outcome",
    "SummaryLine",
    "Verdict",
    "allowed_difference",
    "batch_connection",
    "compare_by_day",
    "compare_summaries",
    "match_files",
    "read_summary",
    "total_amounts",
    "verdict",
    "within_tolerance",
    "write_evidence",
]
