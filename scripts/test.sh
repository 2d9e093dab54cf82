#!/usr/bin/env bash
# Set up, lint, and run the whole test suite (it needs Node.js 18+ and npm; Chromium for
# the browser test).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "test: the suite needs Node.js 18+ and npm on the PATH" >&2
    exit 2
fi
bash scripts/setup.sh
.venv/bin/ruff check src tests benchmarks examples fuzz soak
.venv/bin/ruff format --check src tests benchmarks examples fuzz soak
.venv/bin/python -m pytest -q "$@"
