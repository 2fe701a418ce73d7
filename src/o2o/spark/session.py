"""A SparkSession for the engines (pyspark imported only here and when a step runs)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from o2o.domain.errors import O2OError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


class SparkUnavailableError(O2OError):
    """pyspark (the `spark` extra) or Java is missing."""


class SparkJobError(O2OError):
    """A Spark job failed (an unreadable input, a path Spark cannot reach…): its first line."""


# Tuned for tiny data (tests, a demo): each step's fixed cost is then all there is. Measured on the parity
# module's matching (2,000 calls, local[2], 2 shared cores): without whole-stage code generation and
# adaptive execution a matching took 9.7-11.3 s instead of 17.8-27.6 s, and with the JVM's first JIT tier
# only 7.5-9.3 s instead of 15-19 s (the first matching of a session 24-35 s instead of 48-50 s). Without
# generated code for expressions either (`factoryMode` NO_CODEGEN: the interpreted projections and
# predicates Spark falls back to when compiling fails) a warm tiny matching took 4.7-5.5 s instead of
# 7.2-10.7 s (load 7-8); the option is marked internal by Spark, hence only here. The first JIT tier alone
# gets a 48 MB code cache (the two tiers get 240 MB), which filled ("CodeCache is full", compilation off)
# when the parity tests shared a JVM with other tests: the tiers' size again. On large data all of these
# cost throughput: they are off by default.
SMALL_DATA = {
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
    "spark.sql.adaptive.enabled": "false",
    "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=240m -XX:+UseSerialGC",
}


def spark_session(
    master: str = "local[*]", shuffle_partitions: int | None = None, *, small_data: bool = False
) -> SparkSession:
    """The active SparkSession, or a new one on `master`: UTC, the UI off, Arrow batches on.

    A new session on a local master gets few shuffle partitions (the default 200 costs seconds on small
    data); a cluster's are its own configuration's (`spark-defaults.conf`, else Spark's 200), as are its
    other settings. A session already active keeps its settings: only `shuffle_partitions`, when given, is
    set on it (so a caller that made the session with its own count keeps it when a later call asks for
    one on its master). The Python workers of a local master run this interpreter (a cluster's workers
    need o2o-settle installed). `small_data` sets `SMALL_DATA` (the JVM option only when this call starts
    the JVM)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkUnavailableError(
            "the Spark engine needs pyspark: pip install 'o2o-settle[spark]'"
        ) from None
    active = SparkSession.getActiveSession()
    if active is not None:
        if shuffle_partitions is not None:
            active.conf.set("spark.sql.shuffle.partitions", str(shuffle_partitions))
        return active
    local = master.startswith("local")
    if local:
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    partitions = shuffle_partitions or (8 if local else None)
    builder = (
        SparkSession.builder.master(master)
        .appName("o2o-settle")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    )
    if partitions is not None:
        builder = builder.config("spark.sql.shuffle.partitions", str(partitions))
    for key, value in SMALL_DATA.items() if small_data else ():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # Java missing or the master unreachable: say so in one line
        raise SparkUnavailableError(f"cannot start Spark on {master}: {str(exc).splitlines()[0]}") from None
    session.sparkContext.setLogLevel("ERROR")
    return session


@contextmanager
def spark_errors() -> Iterator[None]:
    """A Spark error (which carries the JVM's trace) raised as `SparkJobError`, its first line."""
    try:
        yield
    except Exception as exc:
        if type(exc).__module__.startswith(("pyspark", "py4j")):
            first = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
            raise SparkJobError(f"Spark: {first.strip()}") from None
        raise
