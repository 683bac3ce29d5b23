from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def gochat(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gochat", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def test_committed_schema_matches_the_code() -> None:
    result = gochat("export-schema")
    assert result.returncode == 0, result.stderr
    committed = (ROOT / "schema.graphql").read_text(encoding="utf-8")
    assert result.stdout == committed, (
        "schema.graphql is stale: run gochat export-schema -o schema.graphql"
    )


def test_export_schema_writes_the_file_given(tmp_path: Path) -> None:
    target = tmp_path / "out.graphql"
    result = gochat("export-schema", "-o", str(target))
    assert result.returncode == 0, result.stderr
    text = target.read_text(encoding="utf-8")
    assert "type Query" in text and "type Mutation" in text and "type Subscription" in text
