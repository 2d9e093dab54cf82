"""`python -m sluice_runtime`: the process a Lambda function runs in.

On AWS Lambda, started by an `AWS_LAMBDA_EXEC_WRAPPER` script in place of AWS's Python
runtime client (see `examples/lambda-streaming-sdk-sam/python/sluice-stream`).
"""

from __future__ import annotations

import sys

from sluice_runtime._bootstrap import main

if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
