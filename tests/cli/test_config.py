"""Configuration: sources, precedence, redaction, and one clear line for a bad value."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def gochat(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GOCHAT_")}
    return subprocess.run(
        [sys.executable, "-m", "gochat", *args],
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        cwd=cwd,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"GOCHAT_PORT": "abc"}, "GOCHAT_PORT"),
        ({"GOCHAT_WORKER_ID": "5000"}, "GOCHAT_WORKER_ID"),
        ({"GOCHAT_MAIL_URL": "ftp://mail"}, "GOCHAT_MAIL_URL"),
        ({"GOCHAT_DATABASE_URL": "mysql://db"}, "GOCHAT_DATABASE_URL"),
        ({"GOCHAT_JWT_SECRET": "short"}, "GOCHAT_JWT_SECRET"),
        ({"GOCHAT_RATE_LOGIN_PER_IP": "lots"}, "GOCHAT_RATE_LOGIN_PER_IP"),
        ({"GOCHAT_REDIS_CLUSTER": "true"}, "GOCHAT_REDIS_CLUSTER"),
        (
            {"GOCHAT_REDIS_CLUSTER": "true", "GOCHAT_REDIS_URL": "redis://127.0.0.1:7000/2"},
            "GOCHAT_REDIS_CLUSTER",
        ),
        (
            {"GOCHAT_GRAPHQL_MAX_COST": "5000", "GOCHAT_RATE_COST_PER_USER": "4999/60"},
            "GOCHAT_RATE_COST_PER_USER",
        ),
    ],
    ids=[
        "port",
        "worker-id",
        "mail-url",
        "database-url",
        "secret",
        "rate",
        "redis-cluster-without-url",
        "redis-cluster-database",
        "cost-rate-below-one-operation",
    ],
)
@pytest.mark.parametrize("command", ["serve", "config"])
def test_invalid_value_fails_with_one_line_naming_the_setting(
    env: dict[str, str], setting: str, command: str, tmp_path: Path
) -> None:
    result = gochat(command, env=env, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"gochat: invalid setting {setting}")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "gochat-data").exists()


def test_unknown_key_in_config_file_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "gochat.toml"
    config.write_text("prot = 9000\n")
    result = gochat("--config", str(config), "config")
    assert result.returncode == 2
    assert result.stderr.strip() == "gochat: invalid setting GOCHAT_PROT: unknown setting"


def test_toml_and_yaml_files_are_read_and_environment_wins(tmp_path: Path) -> None:
    toml = tmp_path / "gochat.toml"
    toml.write_text("port = 9100\nworker_id = 7\n")
    shown = json.loads(gochat("--config", str(toml), "config").stdout)
    assert (shown["port"], shown["worker_id"]) == (9100, 7)
    yaml = tmp_path / "gochat.yaml"
    yaml.write_text("port: 9200\nlog_format: json\n")
    shown = json.loads(
        gochat("config", env={"GOCHAT_CONFIG_FILE": str(yaml), "GOCHAT_PORT": "9300"}).stdout
    )
    assert (shown["port"], shown["log_format"]) == (9300, "json")


def test_config_redacts_secrets(tmp_path: Path) -> None:
    secret = "s3cr3t-" + "k" * 40
    result = gochat(
        "config",
        env={
            "GOCHAT_JWT_SECRET": secret,
            "GOCHAT_DATABASE_URL": "postgresql://chat:dbpassword@db.internal/chat",
            "GOCHAT_MAIL_URL": "smtp://mailer:mailpassword@smtp.internal:587",
        },
    )
    assert result.returncode == 0, result.stderr
    for hidden in (secret, "dbpassword", "mailpassword"):
        assert hidden not in result.stdout
    shown = json.loads(result.stdout)
    assert shown["database_url"] == "postgresql+asyncpg://chat:***@db.internal/chat"
    assert shown["jwt_secret"] == "<set>"
