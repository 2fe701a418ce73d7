"""File formats users write (agreement and operator TOML), validated with pydantic.

Schemas are separate from domain types: they parse and name bad fields, then build frozen domain values.
"""
