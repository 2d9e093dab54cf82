"""sluice's benchmark suite: streaming figures beside references measured in the same run.

Timings on shared machines drift from run to run, so no figure stands alone: each is printed
next to what the machine itself manages without sluice (a do-nothing HTTP server, raw loopback
TCP, boto3 reading pre-encoded events), as a ratio. Run it with `python -m benchmarks --help`.

Modules: `__main__` (options and order), `_server` (a private `sluice serve`), `_functions`
(the handlers and their deployment), `_clients` (the lean client and boto3), `_url_client`
(function URLs), `_references` and `_baseline` (the same-run ceilings), `_rows` (a figure
beside its reference), one module per scenario (`_scenarios` for 1 and 2, `_small_chunks`,
`_concurrency`, `_startup`, `_urls` with the peer of `_peer` and `_peer_runtime`), and
`_report` (the table and the JSON file).
"""
