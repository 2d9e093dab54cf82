#!/usr/bin/env bash
# Set up .venv and run the lambda-streaming-sdk-sam pattern end to end on an embedded server.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/sluice demo
