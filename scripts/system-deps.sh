#!/usr/bin/env bash
# Debian packages the test suite needs, installed when missing: Node.js and npm (Node
# functions, the AWS SDK for JavaScript client) and Chromium (the headless browser test of a
# function URL streaming Server-Sent Events). Needs root or sudo; otherwise says what to run.
set -euo pipefail
PACKAGES=""
command -v npm >/dev/null 2>&1 || PACKAGES="$PACKAGES nodejs npm"
command -v chromium >/dev/null 2>&1 || PACKAGES="$PACKAGES chromium"
[ -z "$PACKAGES" ] && exit 0
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if ! sudo -n true 2>/dev/null; then
        echo "system-deps: please install:$PACKAGES (apt-get install -y$PACKAGES)" >&2
        exit 0
    fi
    SUDO="sudo"
fi
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $PACKAGES
