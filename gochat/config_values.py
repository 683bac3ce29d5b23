"""Setting values checked one by one (URLs, rates, secrets), the settings file, and the
error a bad value raises; `gochat.config` assembles them into Settings."""

from __future__ import annotations

import os
import re
import secrets
import stat
import tomllib
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AfterValidator,
    SecretStr,
)
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

ENV_PREFIX = "GOCHAT_"
CONFIG_FILE_ENV = "GOCHAT_CONFIG_FILE"
SECRET_FILE_NAME = "jwt-secret"  # noqa: S105 - a file name, not a secret
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*s?\s*$")


def check_rate(value: str) -> str:
    match = _RATE.match(value)
    if not match or int(match.group(1)) < 1 or int(match.group(2)) < 1:
        raise ValueError("expected COUNT/SECONDS, for example 10/60")
    return value


Rate = Annotated[str, AfterValidator(check_rate)]


def check_database_url(value: str | None) -> str | None:
    if value is not None and not value.startswith(
        (
            "sqlite://",
            "sqlite+aiosqlite://",
            "postgresql://",
            "postgres://",
            "postgresql+asyncpg://",
        )
    ):
        raise ValueError("expected a sqlite:// or postgresql:// URL")
    return value


def check_messages_url(value: str | None) -> str | None:
    if value is not None and not re.match(r"^cql://[^/]+/[a-z][a-z0-9_]{0,47}(\?.*)?$", value):
        raise ValueError("expected cql://host1,host2[:port]/keyspace")
    return value


def check_bus_url(value: str) -> str:
    if value != "memory://" and not re.match(r"^nats://[^/?#]+/?$", value):
        raise ValueError("expected memory:// or nats://[user:pass@]host:port")
    return value


def check_redis_url(value: str | None) -> str | None:
    if value is not None and not re.match(r"^rediss?://[^/?#]+(/\d+)?(\?.*)?$", value):
        raise ValueError("expected redis://[user:pass@]host:port[/db] or rediss://...")
    return value


def check_blobs_url(value: str | None) -> str | None:
    if value is not None and not re.match(
        r"^s3://([^@/?#]+@)?[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\?[^#]*)?$", value
    ):
        raise ValueError("expected s3://[key:secret@]bucket?endpoint=URL&region=R&style=path")
    return value


def check_search_url(value: str | None) -> str | None:
    if value is not None and not re.match(
        r"^https?://([^@/?#]+@)?[^/?#]+(/[a-z0-9_-]+)?/?$", value
    ):
        raise ValueError(
            "expected http(s)://[user:password@]host:port[/index-prefix] of OpenSearch"
        )
    return value


def check_mail_url(value: str) -> str:
    if value.startswith("log:"):
        return value
    if not value.startswith("smtp://"):
        raise ValueError("expected log:// or smtp://user:pass@host:port?tls=starttls|implicit|none")
    tls = re.search(r"[?&]tls=([^&]*)", value)
    if tls and tls.group(1) not in {"starttls", "implicit", "none"}:
        raise ValueError("tls must be starttls, implicit or none")
    return value


def check_public_url(value: str | None) -> str | None:
    if value is None:
        return value
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.query or parts.fragment:
        raise ValueError("expected http(s)://host[:port][/path], with no query or fragment")
    return value.rstrip("/")


def check_secret(value: SecretStr | None) -> SecretStr | None:
    if value is not None and len(value.get_secret_value()) < 32:
        raise ValueError("a signing key needs at least 32 characters")
    return value


def parse_rate(value: str) -> tuple[int, int]:
    """`"10/60"` -> (10 requests, 60 seconds)."""
    match = _RATE.match(value)
    assert match is not None  # validated on load
    return int(match.group(1)), int(match.group(2))


class ConfigError(Exception):
    """A setting has a bad value; the message is one line naming it."""


class ConfigFileSource(PydanticBaseSettingsSource):
    """Reads the TOML or YAML file named by GOCHAT_CONFIG_FILE (keys without the prefix)."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self._data = read_config_file(os.environ.get(CONFIG_FILE_ENV))

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in self._data.items() if v is not None}


def read_config_file(name: str | None) -> dict[str, Any]:
    if not name:
        return {}
    path = Path(name)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{CONFIG_FILE_ENV}: cannot read {path}: {exc.strerror}") from exc
    try:
        if path.suffix == ".toml":
            data: object = tomllib.loads(text)
        elif path.suffix in {".yaml", ".yml"}:
            data = yaml.safe_load(text) or {}
        else:
            raise ConfigError(f"{CONFIG_FILE_ENV}: {path} must end in .toml, .yaml or .yml")
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{CONFIG_FILE_ENV}: {path} is not valid: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{CONFIG_FILE_ENV}: {path} must hold a table of settings")
    return {str(k).lower().removeprefix("gochat_"): v for k, v in data.items()}


def async_database_url(url: str) -> str:
    """Accept plain sqlite:// and postgresql:// URLs and select the async drivers."""
    for prefix, driver in (
        ("sqlite://", "sqlite+aiosqlite://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
    ):
        if url.startswith(prefix):
            return driver + url.removeprefix(prefix)
    if url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        return url
    raise ConfigError(
        f"invalid setting {ENV_PREFIX}DATABASE_URL: expected sqlite:// or postgresql:// URL"
    )


def redact_url(url: str) -> str:
    return re.sub(r"(//[^/:@]*:)[^@/]*@", r"\1***@", url)


def ensure_secret_file(path: Path) -> str:
    """Read a secret key file, creating it with 64 random bytes (mode 0600) if missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise ConfigError(
                f"{path} is readable by other users (mode {mode:o}); run chmod 600 on it"
            ) from None
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        secret = secrets.token_urlsafe(64)
        handle.write(secret + "\n")
    return secret
