"""What every command shares: settings that stop the program with one line when wrong."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from gochat.config import ConfigError, Settings, load_settings


def settings_or_exit(**overrides: Any) -> Settings:
    try:
        return load_settings(**overrides)
    except ConfigError as exc:
        click.echo(f"gochat: {exc}", err=True)
        sys.exit(2)


def guarded(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except ConfigError as exc:
        click.echo(f"gochat: {exc}", err=True)
        sys.exit(2)
