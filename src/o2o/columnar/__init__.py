"""Reading columnar data, shared by the engines and the lake: lines of CSV files, number keys in Arrow.

Below both (it imports only `o2o.domain` and its own libraries, pyarrow and numpy), so an engine that
reads files (`o2o.reconcile`) and the lake's usage import use one implementation without an engine
importing an adapter.
"""
