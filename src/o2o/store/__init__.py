"""The SQL store of workflow state (SQLAlchemy 2 Core + Alembic): SQLite by default, PostgreSQL in production.

Repositories never commit; the unit of work (`o2o.store.uow`) owns the transaction.
"""
