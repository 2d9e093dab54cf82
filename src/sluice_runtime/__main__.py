"""`python -m sluice_runtime`: the process a Lambda function runs in.

Usable as a `provided.al2023` custom runtime with `bootstrap` = `exec python3 -m sluice_runtime`.
"""

from __future__ import annotations

import sys

from sluice_runtime._bootstrap import main

if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
