"""Reading the compose stack's files as Docker Compose would, without a Docker engine."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import click
import yaml

from gochat.cli import main as gochat_cli
from gochat.workers.embedder import EmbedderHandler
from gochat.workers.indexer import SearchIndexer
from gochat.workers.media import MediaHandler

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
PROMETHEUS_FILE = ROOT / "deploy" / "prometheus" / "prometheus.yml"
CADDYFILE = ROOT / "deploy" / "caddy" / "Caddyfile"
DASHBOARD_FILE = ROOT / "deploy" / "grafana" / "dashboards" / "gochat.json"
GRAFANA_PROVISIONING = ROOT / "deploy" / "grafana" / "provisioning"

# `gochat worker NAME` takes any name and fails at start on an unknown one.
WORKER_KINDS = frozenset({MediaHandler.name, EmbedderHandler.name, SearchIndexer.name})

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}
_INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")
REQUIRED_PLACEHOLDER = "r" * 40


def load_compose() -> dict[str, Any]:
    """compose.yaml as written (YAML merge keys resolved, as Compose does)."""
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def interpolate(value: str) -> str:
    """The value with an empty environment: defaults filled in, required variables given a
    placeholder long enough for any setting."""

    def one(match: re.Match[str]) -> str:
        op = match.group("op") or ""
        if op.endswith("?"):
            return REQUIRED_PLACEHOLDER
        return match.group("arg") if op else ""

    return _INTERPOLATION.sub(one, value)


def command_of(service: dict[str, Any]) -> list[str]:
    command = service.get("command", [])
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def environment_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): interpolate(str(v)) for k, v in env.items()}


def gochat_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The services that run the GoChat image (built from the Dockerfile)."""
    return {
        name: service
        for name, service in compose["services"].items()
        if str(service.get("image", "")).startswith("gochat:") or "build" in service
    }


def cli_problem(args: list[str]) -> str | None:
    """Why `gochat ARGS` is not a command line the CLI accepts (parsed, not run), or None."""
    command: click.Command = gochat_cli
    ctx = click.Context(gochat_cli, info_name="gochat")
    rest = list(args)
    while isinstance(command, click.Group):
        if not rest:
            return f"{shlex.join(args)!r} names a group, not a command"
        sub = command.get_command(ctx, rest[0])
        if sub is None:
            return f"no command {rest[0]!r} in {shlex.join(args)!r}"
        command, rest = sub, rest[1:]
        ctx = click.Context(command, info_name=command.name, parent=ctx)
    try:
        command.make_context(command.name or "", list(rest), parent=ctx.parent)
    except click.ClickException as exc:
        return f"{shlex.join(args)!r}: {exc.format_message()}"
    if command.name == "worker" and rest[0] not in WORKER_KINDS:
        return f"{shlex.join(args)!r}: no worker kind {rest[0]!r} (known: {sorted(WORKER_KINDS)})"
    return None
