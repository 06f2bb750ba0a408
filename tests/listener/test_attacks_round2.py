"""Red team, round two: what a device can send (issue 18), over real sockets.

Each test is an attack; the ones kept here either found a hole (fixed) or add coverage that did
not exist.
"""

from __future__ import annotations

import aiohttp

from .conftest import ListenerFactory
from .test_listener import connect_from, url

MIB = 1024 * 1024


async def test_a_wrong_token_at_the_upgrade_does_not_buy_the_admitted_message_size(
    start_listener: ListenerFactory,
) -> None:
    """Any `?token=` used to raise a stranger's message limit from 256 KiB to 8 MiB.

    aiohttp holds a message whole before the hub sees it, so 256 strangers with a made-up token
    could each make Home Assistant buffer 8 MiB (2 GiB) before the token was ever compared.
    """
    listener = await start_listener()
    async with connect_from("127.0.0.6", url(listener, query="?token=made-up")) as ws:
        await ws.send_bytes(bytes(MIB))
        message = await ws.receive(timeout=5)
        assert message.type is aiohttp.WSMsgType.CLOSE
        # Refused by size before it was held (1009), not read whole and refused by its token.
        assert ws.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
