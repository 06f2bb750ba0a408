"""Home Assistant's API latency from a process of its own, while an attack runs.

    python -m bench.api_poller URL TOKEN     # started by bench.attack_tools.Phase

GETs `URL` every 100 ms until its stdin closes, then prints the answer times (ms) and the failed
requests as one JSON line. A process of its own: the attacking process's event loop is busy with
the attackers, and would delay the polls it is meant to time.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import aiohttp

INTERVAL = 0.1


async def poll(url: str, token: str) -> None:
    """Time GET `url` every 100 ms until stdin closes; print the times (ms) and failures."""
    times: list[float] = []
    failures = 0
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    closed = asyncio.create_task(stdin.read())
    timeout = aiohttp.ClientTimeout(total=10)
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(timeout=timeout, headers=headers) as session:
        while not closed.done():
            started = time.perf_counter()
            try:
                async with session.get(url) as answer:
                    await answer.read()
                times.append((time.perf_counter() - started) * 1000)
            except aiohttp.ClientError, TimeoutError:
                failures += 1
            await asyncio.sleep(INTERVAL)
    print(json.dumps({"ms": times, "failures": failures}))


if __name__ == "__main__":
    asyncio.run(poll(sys.argv[1], sys.argv[2]))
