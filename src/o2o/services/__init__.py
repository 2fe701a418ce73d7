"""Use cases: plain functions over a workspace; each owns its unit of work and commits once."""
