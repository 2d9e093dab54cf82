"""A bounded soak of `sluice serve`: mixed load on loopback for a set time, then a verdict on
whether the server's descriptors, threads, children or memory grew.

Run it as `python -m soak [--minutes 10] [--out soak.json]`; docs/reliability.md has what it
does, why its tolerances are what they are, and the figures of the last full run.
"""
