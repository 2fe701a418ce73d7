"""The lake: canonical Parquet files of usage and results in the workspace (`$O2O_HOME/lake`)."""
