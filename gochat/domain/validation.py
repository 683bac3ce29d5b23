"""Input rules shared by every area: lengths, handles, emails, names."""

from __future__ import annotations

import re
import unicodedata

from gochat.errors import BadUserInput

EMAIL_MAX = 254
HANDLE_PATTERN = re.compile(r"^[a-z0-9._-]{2,32}$")
_EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
PASSWORD_MIN = 8
PASSWORD_MAX = 256
DISPLAY_NAME_MAX = 64


def email(raw: str, *, field: str = "email") -> str:
    """Trimmed and lower-cased, so one mailbox is one account."""
    value = raw.strip().lower()
    if len(value) > EMAIL_MAX or not _EMAIL_PATTERN.match(value):
        raise BadUserInput("not a valid email address", field=field)
    return value


def handle(raw: str, *, field: str = "handle") -> str:
    value = raw.strip().lower()
    if not HANDLE_PATTERN.match(value):
        raise BadUserInput(
            "a handle has 2 to 32 characters: letters, digits, '.', '_' or '-'", field=field
        )
    return value


def password(raw: str, *, field: str = "password") -> str:
    if len(raw) < PASSWORD_MIN:
        raise BadUserInput(f"a password has at least {PASSWORD_MIN} characters", field=field)
    if len(raw) > PASSWORD_MAX:
        raise BadUserInput(f"a password has at most {PASSWORD_MAX} characters", field=field)
    return raw


def display_name(
    raw: str, *, field: str = "displayName", max_length: int = DISPLAY_NAME_MAX
) -> str:
    return name(raw, field=field, max_length=max_length)


def name(raw: str, *, field: str, max_length: int, min_length: int = 1) -> str:
    """A human-readable name: trimmed, NFC-normalized, no control characters."""
    value = unicodedata.normalize("NFC", raw.strip())
    if any(unicodedata.category(ch) in {"Cc", "Cf"} for ch in value):
        raise BadUserInput("control characters are not allowed", field=field)
    if not min_length <= len(value) <= max_length:
        raise BadUserInput(f"must have {min_length} to {max_length} characters", field=field)
    return value
