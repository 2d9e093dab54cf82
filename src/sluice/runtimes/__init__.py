"""Runtime clients that run inside function processes, shipped as package data.

They speak only the Runtime API and import nothing of sluice, so the same files run on AWS
Lambda. The Python client is the top-level package `sluice_runtime`; `node/bootstrap.js` is
the Node.js one.
"""
