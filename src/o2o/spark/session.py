"""A SparkSession for the engines (pyspark imported only here and when a step runs)."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from o2o.domain.errors import O2OError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


class SparkUnavailableError(O2OError):
    """pyspark (the `spark` extra) or Java is missing."""


class SparkJobError(O2OError):
    """A Spark job failed (an unreadable input, a path Spark cannot reach…): its first line."""


def spark_session(master: str = "local[*]", shuffle_partitions: int | None = None) -> SparkSession:
    """The active SparkSession on `master`, or a new one: UTC, the UI off, Arrow batches on.

    A local master gets few shuffle partitions (the default 200 costs seconds on small data); the Python
    workers of a local master run this interpreter (a cluster's workers need o2o-settle installed)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkUnavailableError(
            "the Spark engine needs pyspark: pip install 'o2o-settle[spark]'"
        ) from None
    local = master.startswith("local")
    if local:
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    partitions = shuffle_partitions or (8 if local else 200)
    builder = (
        SparkSession.builder.master(master)
        .appName("o2o-settle")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(partitions))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    )
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # Java missing or the master unreachable: say so in one line
        raise SparkUnavailableError(f"cannot start Spark on {master}: {str(exc).splitlines()[0]}") from None
    session.sparkContext.setLogLevel("ERROR")
    return session
