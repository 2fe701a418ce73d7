"""The reconciliation engine: record matching of two usage files, aggregate comparison, tolerance verdict.

Pure computations over files and values; imports `o2o.domain`, DuckDB and OR-Tools only.
"""

from o2o.reconcile.file_match import match_files
from o2o.reconcile.match_model import MatchClass, MatchOptions, MatchSummary

__all__ = ["MatchClass", "MatchOptions", "MatchSummary", "match_files"]
