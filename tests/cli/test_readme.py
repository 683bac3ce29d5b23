from __future__ import annotations

from pathlib import Path

from gochat.config import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented_in_the_readme() -> None:
    missing = [name for name in Settings.model_fields if f"`GOCHAT_{name.upper()}`" not in README]
    assert not missing, f"add these settings to the README table: {missing}"


def test_readme_names_the_two_commands() -> None:
    assert ".venv/bin/gochat serve" in README
    assert "scripts/test" in README
