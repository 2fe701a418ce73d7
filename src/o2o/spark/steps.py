"""Running the engines' step texts on Spark: the one dialect hook is the step's header.

A step is `CREATE OR REPLACE TEMP TABLE name AS <SELECT>` or `CREATE OR REPLACE TEMP VIEW name AS <SELECT>`
(DuckDB's form). Spark has no temp tables: the SELECT runs as it is, a table is materialised (a local
checkpoint: computed once, its lineage cut, so each round's plan stays short), a view stays lazy; either
becomes a temp view under the name, which the later steps read.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_HEADER = re.compile(r"\s*CREATE\s+OR\s+REPLACE\s+TEMP\s+(TABLE|VIEW)\s+(\w+)\s+AS\s+(.*)", re.S | re.I)


def split_step(text: str) -> tuple[str, str, str]:
    """(kind `TABLE`|`VIEW`, name, SELECT) of a step text; ValueError when it is not a step."""
    match = _HEADER.fullmatch(text)
    if match is None:
        raise ValueError(f"not a CREATE OR REPLACE TEMP TABLE|VIEW step: {text.strip()[:80]}")
    return match.group(1).upper(), match.group(2), match.group(3)


class SparkSteps:
    """Runs step texts on one SparkSession and keeps the materialised tables until they are dropped."""

    def __init__(self, spark: SparkSession) -> None:
        self.spark = spark
        self.tables: dict[str, DataFrame] = {}

    def run(self, text: str) -> None:
        kind, name, select = split_step(text)
        frame = self.spark.sql(select)
        if kind == "TABLE":
            self.table(name, frame)
        else:
            self.drop(name)
            frame.createOrReplaceTempView(name)

    def table(self, name: str, frame: DataFrame) -> None:
        """Materialise `frame` as the temp table `name`."""
        self.drop(name)
        done = frame.localCheckpoint(eager=True)
        done.createOrReplaceTempView(name)
        self.tables[name] = done

    def drop(self, *names: str) -> None:
        for name in names:
            self.spark.catalog.dropTempView(name)
            frame = self.tables.pop(name, None)
            if frame is not None:
                frame.unpersist()
