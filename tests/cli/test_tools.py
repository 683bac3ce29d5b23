from __future__ import annotations

import subprocess
import sys


def tools(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gochat", "tools", *args], capture_output=True, text=True, timeout=60
    )


def test_permissions_decodes_a_decimal_mask() -> None:
    result = tools("permissions", "7927905")
    assert result.returncode == 0
    assert result.stdout.split()[:3] == ["VIEW_CHANNELS", "CREATE_INVITE", "CHANGE_NICKNAME"]
    assert len(result.stdout.split()) == 12


def test_permissions_decodes_hex_and_reports_unknown_bits() -> None:
    assert tools("permissions", "0x4000000").stdout.split() == ["ADMINISTRATOR"]
    unknown = tools("permissions", str((1 << 40) | 1))
    assert unknown.returncode == 2
    assert unknown.stdout.split() == ["VIEW_CHANNELS"]
    assert "unknown bits" in unknown.stderr


def test_permissions_refuses_garbage() -> None:
    result = tools("permissions", "lots")
    assert result.returncode == 2
    assert result.stderr.strip() == "gochat: not a number: 'lots'"
