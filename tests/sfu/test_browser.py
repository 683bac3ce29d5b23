"""Headless Chromium with fake media devices joins through examples/web; a Python client
hears it, and the page hears the Python client and shows it speaking."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlencode

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.staticfiles import StaticFiles

from tests.sfu.conftest import Voice
from tests.support.browser import chromium
from tests.support.voice import VoiceClient, wait_until

pytestmark = pytest.mark.timeout(120)
WEB = Path(__file__).resolve().parents[2] / "examples" / "web"
WEBRTC_ARGS = (
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    # Host candidates on loopback, as the SFU's, and no mDNS names in their place.
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
)


async def test_a_browser_and_a_python_client_hear_each_other(voice: Voice) -> None:
    site = uvicorn.Server(
        uvicorn.Config(
            _static(),
            host="127.0.0.1",
            port=0,
            log_level="warning",
        )
    )
    serving = asyncio.create_task(site.serve())
    token, py_user, _ = voice.token()
    browser_token, browser_user, _ = voice.token()
    python = VoiceClient(voice.url, token)
    errors: list[str] = []
    try:
        await wait_until(lambda: site.started)
        port = site.servers[0].sockets[0].getsockname()[1]
        assert (await python.join())["op"] == "joined"
        async with chromium(*WEBRTC_ARGS) as browser:
            page = await browser.new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on(
                "console",
                lambda message: (
                    errors.append(message.text) if message.type in ("error", "warning") else None
                ),
            )
            query = urlencode({"sfu": voice.url, "token": browser_token})
            await page.goto(f"http://127.0.0.1:{port}/index.html?{query}")
            # The Python client hears Chromium's fake microphone (a periodic beep).
            await wait_until(lambda: python.loud[str(browser_user)] >= 5, what="browser heard")
            # The page plays the Python client's tone and shows it speaking.
            await page.wait_for_selector(
                f'#members li.speaking[data-user-id="{py_user}"]', timeout=30_000
            )
            for _ in range(300):
                heard = await page.evaluate("window.gochatVoice.inboundAudio()")
                got = heard.get(str(py_user), {})
                if got.get("packets", 0) >= 50 and got.get("energy", 0) > 0:
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError(f"the page did not play the tone: {heard}")
            assert not errors, errors
    finally:
        await python.close()
        site.should_exit = True
        await serving


def _static() -> Starlette:
    app = Starlette()
    app.mount("/", StaticFiles(directory=WEB, html=True))
    return app
