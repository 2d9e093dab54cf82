#!/usr/bin/env bash
# Create .venv and install sluice with its test tools, and the Node.js packages of the
# example's SDK client and of the Node tests where npm is present. Idempotent; needs only
# python3 >= 3.11 (and Node.js 18+ for Node functions and clients).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
if command -v npm >/dev/null 2>&1; then
    for dir in examples/lambda-streaming-sdk-sam tests/node; do
        # Again whenever the lockfile is newer than the install it describes.
        if [ ! -f "$dir/node_modules/.package-lock.json" ] \
            || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
            (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
        fi
    done
else
    echo "setup: npm not found; Node.js functions and the Node SDK client will not run" >&2
fi
