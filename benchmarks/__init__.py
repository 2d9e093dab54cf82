"""sluice's benchmark suite: streaming figures beside references measured in the same run.

Timings on shared machines drift from run to run, so no figure stands alone: each is printed
next to what the machine itself manages without sluice (a do-nothing HTTP server, raw loopback
TCP, boto3 reading pre-encoded events), as a ratio. Run it with `python -m benchmarks --help`.

Modules: `_server` (a private `sluice serve` and its functions), `_clients` (the lean client
and boto3), `_references` (the same-run ceilings), `_scenarios` (what is measured),
`_report` (the table and the JSON file), `__main__` (options and order).
"""
