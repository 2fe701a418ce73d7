"""O2O Settle: operator-to-operator settlement."""

__version__ = "0.1.0"
