"""Read-only queries the pages, reports and exports build on: one module per page or subject.

Every query takes a DuckDB cursor and the caller's scope (`data.queries.scope`),
reads the rollups rather than raw readings wherever it can, and returns plain
rows, frames or dataclasses: no Dash, no figures.
"""
