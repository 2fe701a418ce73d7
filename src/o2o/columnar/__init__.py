"""Columnar data shared by the engines and the lake: lines of CSV files, number keys in Arrow, Parquet
files written per group.

Below both (it imports only `o2o.domain` and its own libraries, pyarrow, numpy and DuckDB), so an engine
that reads files (`o2o.reconcile`), another that writes them (`o2o.rating`) and the lake's usage import
use one implementation without an engine importing an adapter or another engine.
"""
