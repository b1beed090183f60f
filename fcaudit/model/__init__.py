"""The data of a run, with no I/O: findings, the report they make up, reports read back, and
Dashboard links. Renderers, stages and the report loader depend on this package alone."""
