"""The whole path: members join voice through GraphQL (`joinVoice`), reach the real SFU with
the token and URL it returns, hear each other, show up speaking in their voice states, and a
server mute through GraphQL stops a member's audio at the SFU."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gochat.sfu.server import SfuServer
from gochat.sfu.service import Sfu, SfuConfig
from gochat.voice.tokens import VoiceTokens
from tests.api.test_voice import CHANNEL_STATES, JOIN, MUTE
from tests.support.client import GraphQLClient
from tests.support.engines import free_port
from tests.support.guilds import make_world
from tests.support.server import RunningServer
from tests.support.voice import VoiceClient, wait_until

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"voice_regions": ["eu"], "voice_sweep_interval_seconds": 0.1}


async def test_members_join_through_graphql_hear_each_other_and_a_server_mute_silences(
    server: RunningServer, client: GraphQLClient
) -> None:
    world = await make_world(client)
    port = free_port()
    settings = server.settings
    sfu = Sfu(
        bus=server.services.bus,
        tokens=VoiceTokens(secret=settings.signing_secret(), issuer=settings.jwt_issuer),
        config=SfuConfig(sfu_id="sfu-e2e", region="eu", url=f"ws://127.0.0.1:{port}/sfu"),
        registry=server.services.sfu_registry,
    )
    sfu_server = SfuServer(sfu, port=port)
    await sfu_server.start()
    clients: dict[str, VoiceClient] = {}
    try:
        for user in (world.owner, world.member):
            joined = (await user.client.execute(JOIN, {"c": world.voice_id})).ok()["joinVoice"]
            assert joined["sfuUrl"] == f"ws://127.0.0.1:{port}/sfu"
            clients[user.id] = VoiceClient(joined["sfuUrl"], joined["token"])
            assert (await clients[user.id].join())["op"] == "joined"
        owner, member = clients[world.owner.id], clients[world.member.id]
        await wait_until(lambda: owner.loud[world.member.id] >= 25, what="owner hears member")
        await wait_until(lambda: member.loud[world.owner.id] >= 25, what="member hears owner")

        async def states() -> dict[str, dict[str, Any]]:
            data = (await world.owner.client.execute(CHANNEL_STATES, {"c": world.voice_id})).ok()
            return {s["userId"]: s for s in data["channel"]["voiceStates"]}

        async def eventually(check: Any, what: str) -> None:
            for _ in range(400):
                if check(await states()):
                    return
                await asyncio.sleep(0.05)
            raise AssertionError(what)

        await eventually(
            lambda s: len(s) == 2 and all(v["speaking"] for v in s.values()), "both speaking"
        )
        (
            await world.owner.client.execute(
                MUTE, {"g": world.guild_id, "u": world.member.id, "m": True}
            )
        ).ok()
        await eventually(
            lambda s: s[world.member.id]["serverMute"] and not s[world.member.id]["speaking"],
            "member muted and silent",
        )
        # Whatever was in flight has played out once the owner has been heard for 1 s more.
        heard, own = owner.frames[world.member.id], member.loud[world.owner.id]
        await wait_until(lambda: member.loud[world.owner.id] >= own + 50)
        settled = owner.frames[world.member.id]
        assert settled - heard <= 15
        await wait_until(lambda: member.loud[world.owner.id] >= own + 100)
        assert owner.frames[world.member.id] == settled, "a muted member is still heard"
    finally:
        for voice_client in clients.values():
            await voice_client.close()
        await sfu_server.stop()
