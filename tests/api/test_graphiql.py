"""GraphiQL in a real headless Chromium: the page and every asset come from the server itself,
a query runs with an Authorization header, and a subscription shows a live event."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support.browser import chromium
from tests.support.client import GraphQLClient
from tests.support.factories import signed_up
from tests.support.guilds import create_guild, text_channel
from tests.support.server import RunningServer

PAGE = Path(__file__).resolve().parents[2] / "gochat" / "web" / "graphiql.html"
STATIC = Path(__file__).resolve().parents[2] / "gochat" / "static"

# Set an editor's text the way typing does (GraphiQL listens to CodeMirror's change events).
SET_EDITOR = """([selector, text]) => {
  const editor = document.querySelector(selector).CodeMirror;
  editor.setValue(text);
}"""
QUERY_EDITOR = ".graphiql-query-editor .CodeMirror"
HEADERS_EDITOR = "section.graphiql-editor-tool .graphiql-editor:nth-of-type(2) .CodeMirror"
RESULT = "section.result-window .CodeMirror"
RESULT_TEXT = f"() => document.querySelector({json.dumps(RESULT)}).CodeMirror.getValue()"
# GraphiQL parses the editor's text 100 ms after a change (debounced) and picks HTTP or the
# WebSocket from that parse: run only once it has seen the new operation.
PARSED_AS = f"""(operation) => {{
  const ast = document.querySelector({json.dumps(QUERY_EDITOR)}).CodeMirror.documentAST;
  return ast !== null && ast.definitions[0].operation === operation;
}}"""


@pytest.fixture
def backend() -> str:
    return "sqlite"


def test_the_page_pins_every_asset_it_loads_by_hash() -> None:
    page = PAGE.read_text()
    assets = re.findall(r'(?:src|href)="(static/[^"]+)"\s+integrity="(sha384-[^"]+)"', page)
    assert len(assets) == 6, assets
    for path, integrity in assets:
        digest = hashlib.sha384((STATIC / path.removeprefix("static/")).read_bytes()).digest()
        assert integrity == "sha384-" + base64.b64encode(digest).decode(), path
    assert "://" not in page.replace("http://www.w3.org", "")


async def test_graphiql_is_served_by_the_server_itself(server: RunningServer) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        page = await http.get(f"{server.url}/graphql", headers={"accept": "text/html"})
        assert page.status_code == 200
        assert "connect-src 'self'" in page.headers["content-security-policy"]
        script = await http.get(f"{server.url}/static/graphiql/graphiql.min.js")
        assert script.status_code == 200
        assert script.headers["content-type"].startswith(("text/javascript", "application/js"))
        licences = await http.get(f"{server.url}/static/graphiql/THIRD_PARTY_LICENSES.txt")
        assert "graphql-ws" in licences.text


async def _wait_for(page: Any, expression: str, arg: Any = None, timeout: float = 20) -> Any:
    handle = await page.wait_for_function(expression, arg=arg, timeout=timeout * 1000)
    return await handle.json_value()


async def test_graphiql_runs_a_query_and_a_subscription_with_no_other_host(
    server: RunningServer, client: GraphQLClient
) -> None:
    owner = await signed_up(client)
    guild = await create_guild(owner, "Browser Guild")
    channel = await text_channel(owner.client, guild["id"])
    origin = urlsplit(server.url).netloc
    requests: list[str] = []
    errors: list[str] = []

    async with chromium() as browser:
        page = await browser.new_page()
        page.on("request", lambda request: requests.append(request.url))
        page.on("websocket", lambda socket: requests.append(socket.url))
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on(
            "console",
            lambda message: errors.append(message.text) if message.type == "error" else None,
        )
        await page.goto(f"{server.url}/graphql")
        await page.wait_for_selector(QUERY_EDITOR, timeout=20_000)

        # A query with the Authorization header from the Headers tab.
        await page.get_by_role("button", name="Headers").click()
        await page.wait_for_selector(HEADERS_EDITOR, state="visible")
        headers = json.dumps({"Authorization": f"Bearer {owner.token}"})
        await page.evaluate(SET_EDITOR, [HEADERS_EDITOR, headers])
        await page.evaluate(SET_EDITOR, [QUERY_EDITOR, "{ me { handle } }"])
        await _wait_for(page, PARSED_AS, "query")
        await page.get_by_role("button", name="Execute query (Ctrl-Enter)").click()
        shown = await _wait_for(
            page, f"() => ({RESULT_TEXT})().includes('handle') && ({RESULT_TEXT})()"
        )
        assert json.loads(shown) == {"data": {"me": {"handle": owner.handle}}}

        # A subscription over the same page's WebSocket, with the same header.
        subscription = (
            f'subscription {{ channelEvents(channelId: "{channel}") '
            "{ __typename ... on MessageCreated { message { content } } } }"
        )
        await page.evaluate(SET_EDITOR, [QUERY_EDITOR, subscription])
        await _wait_for(page, PARSED_AS, "subscription")
        await page.get_by_role("button", name="Execute query (Ctrl-Enter)").click()
        # The subscription starts asynchronously: send until one message shows up.
        content = f"hello from the browser test {uuid.uuid4().hex[:8]}"
        deadline = time.monotonic() + 30
        seen = None
        while seen is None and time.monotonic() < deadline:
            (
                await owner.client.execute(
                    "mutation($c: ID!, $t: String!) { sendMessage(input: {channelId: $c, "
                    "content: $t}) { message { id } } }",
                    {"c": channel, "t": content},
                )
            ).ok()
            try:
                seen = await _wait_for(
                    page,
                    f"(content) => ({RESULT_TEXT})().includes(content) && ({RESULT_TEXT})()",
                    content,
                    timeout=2,
                )
            except Exception as exc:  # playwright's TimeoutError: try another message
                if "Timeout" not in type(exc).__name__:
                    raise
                await asyncio.sleep(0)
        assert seen is not None, "no subscription event reached GraphiQL"
        event = json.loads(seen)["data"]["channelEvents"]
        assert event == {"__typename": "MessageCreated", "message": {"content": content}}

    assert requests, "the browser made no request"
    elsewhere = [url for url in requests if urlsplit(url).netloc != origin]
    assert elsewhere == [], f"requests to other hosts: {elsewhere}"
    assert any(url.startswith(("ws://", "wss://")) for url in requests), requests
    assert errors == [], errors


async def test_graphiql_says_what_is_wrong_when_its_scripts_do_not_load(
    server: RunningServer,
) -> None:
    async with chromium() as browser:
        page = await browser.new_page()
        await page.route("**/graphiql.min.js", lambda route: route.abort())
        await page.goto(f"{server.url}/graphql")
        message = page.locator("#graphiql.failed")
        await message.wait_for(timeout=20_000)
        assert "GraphiQL did not load from this server" in await message.inner_text()
