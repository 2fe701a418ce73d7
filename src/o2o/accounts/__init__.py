"""Mutual-settlement accounts: double-entry books per operator pair, statements of account, book
reconciliation against a partner's extract, and ageing of open balances.

Pure functions over domain values (`o2o.accounts.journal`); the store keeps the journal and the
services post to it. This package imports `o2o.domain` and the standard library only (and openpyxl
for writing a statement as XLSX).
"""
