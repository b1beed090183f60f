"""Where objects come from: a scan of the API, an event listing, an incremental run over a
state store, or a file. Each source keeps the contract in `base` and hands the runner
`Observed` objects."""
