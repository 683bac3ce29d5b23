"""Headless Chromium with fake media devices joins through examples/web; a Python client
hears it, and the page hears the Python client and shows it speaking: once with a token handed
to the page, once signing in on the page and picking the channel as a user does."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.staticfiles import StaticFiles

from tests.conftest import make_settings
from tests.sfu.conftest import Voice
from tests.support.browser import chromium
from tests.support.client import GraphQLClient
from tests.support.factories import PASSWORD, signed_up
from tests.support.guilds import create_guild, invite_and_join
from tests.support.server import run_server
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


JOIN_VOICE = "mutation($c: ID!) { joinVoice(input: {channelId: $c}) { sfuUrl token } }"


async def test_a_user_signs_in_on_the_page_picks_the_voice_channel_and_is_heard(
    tmp_path: Path,
) -> None:
    """The page's own path: sign in with email and password against the API, list the voice
    channels, join one (joinVoice names the SFU that `gochat serve` embeds)."""
    site = uvicorn.Server(uvicorn.Config(_static(), host="127.0.0.1", port=0, log_level="warning"))
    serving = asyncio.create_task(site.serve())
    errors: list[str] = []
    python: VoiceClient | None = None
    try:
        await wait_until(lambda: site.started)
        origin = f"http://127.0.0.1:{site.servers[0].sockets[0].getsockname()[1]}"
        settings = make_settings(
            f"sqlite:///{tmp_path / 'gochat.db'}",
            tmp_path / "data",
            sfu_embedded=True,
            sfu_ice_hosts=["127.0.0.1"],
            cors_allowed_origins=[origin],
        )
        async with run_server(settings) as server, httpx.AsyncClient(timeout=30) as http:
            api = GraphQLClient(server.url, http)
            page_user, other = await signed_up(api), await signed_up(api)
            guild = await create_guild(page_user, "Voice room")
            text = next(c["id"] for c in guild["channels"] if c["type"] == "TEXT")
            voice_channel = next(c["id"] for c in guild["channels"] if c["type"] == "VOICE")
            await invite_and_join(page_user, other, text)
            joined = (await other.client.execute(JOIN_VOICE, {"c": voice_channel})).ok()
            python = VoiceClient(joined["joinVoice"]["sfuUrl"], joined["joinVoice"]["token"])
            assert (await python.join())["op"] == "joined"
            async with chromium(*WEBRTC_ARGS) as browser:
                page = await browser.new_page()
                page.on("pageerror", lambda error: errors.append(str(error)))
                page.on(
                    "console",
                    lambda message: (
                        errors.append(message.text)
                        if message.type in ("error", "warning")
                        else None
                    ),
                )
                await page.goto(f"{origin}/index.html")
                await page.fill('input[name="api"]', f"{server.url}/graphql")
                await page.fill('input[name="email"]', page_user.email)
                await page.fill('input[name="password"]', PASSWORD)
                await page.click("#login button")
                button = page.locator("#channel-list button")
                await button.wait_for(timeout=30_000)
                assert await button.count() == 1  # the guild's one voice channel
                await button.click()
                await wait_until(
                    lambda: python is not None and python.loud[page_user.id] >= 5,
                    what="the signed-in page heard",
                )
                await page.wait_for_selector(
                    f'#members li.speaking[data-user-id="{other.id}"]', timeout=30_000
                )
                states = await page_user.client.execute(
                    "query($c: ID!) { channel(id: $c) { ... on VoiceChannel"
                    " { voiceStates { user { id } } } } }",
                    {"c": voice_channel},
                )
                in_voice = {s["user"]["id"] for s in states.ok()["channel"]["voiceStates"]}
                assert in_voice == {page_user.id, other.id}
                assert not errors, errors
    finally:
        if python is not None:
            await python.close()
        site.should_exit = True
        await serving


def _static() -> Starlette:
    app = Starlette()
    app.mount("/", StaticFiles(directory=WEB, html=True))
    return app
