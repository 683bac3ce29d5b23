"""A consistency level `gochat serve` does not know stops it with one line naming the setting,
before it connects to anything."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize(
    ("name", "value"),
    [("GOCHAT_CQL_CONSISTENCY", "quorom"), ("GOCHAT_CQL_SERIAL_CONSISTENCY", "quorum")],
)
def test_an_unknown_consistency_level_stops_serve_with_one_line_naming_it(
    name: str, value: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOCHAT_")}
    env.update({"GOCHAT_DATA_DIR": str(tmp_path), name: value})
    done = subprocess.run(
        [sys.executable, "-m", "gochat", "serve", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert name in lines[0]
    assert repr(value) in lines[0]
