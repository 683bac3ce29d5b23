"""A real headless Chromium (Debian's), driven by Playwright over the DevTools protocol.

Playwright's own browser download is not used: the tests launch the system's `chromium` with a
new, empty profile. Missing Chromium or Playwright skips on a developer machine and fails under
CI=true, like any other engine.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from tests.support.engines import missing_engine

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@asynccontextmanager
async def chromium(*extra_args: str) -> AsyncIterator[BrowserContext]:
    """A browser context with a fresh profile, closed (with the browser) afterwards."""
    executable = chromium_path()
    if executable is None:
        missing_engine("Chromium is not installed (apt-get install chromium)")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        missing_engine("playwright is not installed (pip install -e '.[test]')")
    with tempfile.TemporaryDirectory(prefix="gochat-chromium-") as profile:
        async with async_playwright() as playwright:
            context = await playwright.chromium.launch_persistent_context(
                profile,
                executable_path=executable,
                headless=True,
                args=[*CHROMIUM_ARGS, *extra_args],
            )
            try:
                yield context
            finally:
                await context.close()
