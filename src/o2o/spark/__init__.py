"""The engines' SQL on Apache Spark: a thin adapter, not a second implementation of the rules.

The reconciliation engine's steps (`o2o.reconcile.match_sql`, `match_results_sql`) are plain SELECTs in
the subset DuckDB and Spark SQL share; this package registers the inputs as temp views with the columns
the DuckDB adapter makes (number keys by the same Python function, over Arrow batches), runs the same step
texts (each materialised), solves the contested components with the same `solve_components` as a grouped
map, and writes the same output files as Parquet. The rating engine's steps (`o2o.rating.steps`) run the
same way (`rate_usage_spark`). pyspark is imported lazily: the package imports
without it (`pip install o2o-settle[spark]`).
"""

from __future__ import annotations

from o2o.spark.match import match_files_spark
from o2o.spark.rating import rate_usage_spark
from o2o.spark.session import spark_session

__all__ = ["match_files_spark", "rate_usage_spark", "spark_session"]
