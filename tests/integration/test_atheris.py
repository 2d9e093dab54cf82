"""The atheris target of `fuzz/` in CI: a short coverage-guided search on every run.

Bounded by time, not by runs, so it costs the same on any machine; each run starts from
a random libFuzzer seed (printed in the failure message) so successive CI runs search
different paths. A failure leaves the input that broke the decoder in the message.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

TARGET = Path(__file__).resolve().parents[2] / "fuzz" / "eventstream_decoder.py"
SECONDS = 20

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("atheris") is None,
    reason="atheris is not installed: pip install -e '.[test]' installs it on x86_64 Linux, "
    "where it has wheels; elsewhere it needs a clang with libFuzzer to build",
)


def _findings(directory: Path) -> str:
    """The inputs libFuzzer saved, in hex, so a failure can be replayed from the log."""
    artifacts = sorted(
        path
        for prefix in ("crash-", "timeout-", "oom-", "leak-", "slow-unit-")
        for path in directory.glob(f"{prefix}*")
    )
    return "\n".join(f"{path.name}: {path.read_bytes().hex()}" for path in artifacts)


def test_decoder_survives_bounded_fuzzing(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    result = subprocess.run(
        [
            sys.executable,
            str(TARGET),
            str(corpus),
            f"-max_total_time={SECONDS}",
            "-timeout=10",  # one input taking this long is a hang
            "-rss_limit_mb=1024",
            f"-artifact_prefix={tmp_path}/",
        ],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=SECONDS + 60,
        check=False,
    )
    seed = re.search(r"Seed: (\d+)", result.stderr)
    assert result.returncode == 0, (
        f"{result.stderr[-6000:]}\nlibFuzzer -seed={seed[1] if seed else '?'}; replay an "
        f"input with: python {TARGET.name} <file with the bytes below>\n{_findings(tmp_path)}"
    )
    runs = re.search(r"^Done (\d+) runs", result.stderr, re.MULTILINE)
    assert runs is not None, result.stderr[-2000:]
    assert int(runs[1]) > 1000, "the fuzzer barely ran: the check proved nothing"
