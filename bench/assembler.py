"""The frame assembler alone, in this process: CPU per frame of the listener's framing work.

Runs with `ingest` and `budget` (a second, no Home Assistant). The firmware's messages of one
frame (the three framings by size, as bench/wire.py sends them) are replayed into a
`FrameAssembler` as the listener does: each text message parsed (`parse_text_message`) and
handed to `handle_control`, each binary payload to `handle_binary`. CPU is this thread's
(`time.thread_time_ns`), the median of several rounds: on a busy machine it repeats within a
few per cent, where the hub's CPU per frame in a real `hass` moves by 15 % or more between runs.
So a change that slows the assembler by 20 % is seen here at once (bench/compare.py), even when
the ingest ceiling's noise hides it.
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

from bench.plan import FRAME_SIZES
from bench.table_format import cells, number
from bench.testbed import log
from bench.wire import sequenced_jpeg
from custom_components.esp32_camera.protocol import FrameAssembler
from custom_components.esp32_camera.protocol.messages import (
    FrameEndMessage,
    FrameStartMessage,
    ImageEndMessage,
    ImageStartMessage,
    parse_text_message,
)
from esp32_simulator.camera import Framing, Mode, chunk_size_for, framing_for, image_start_message
from esp32_simulator.jpeg import jpeg_dimensions

SIZES = ("VGA", "XGA", "UXGA")
_FRAMING_MESSAGES = (FrameStartMessage, FrameEndMessage, ImageStartMessage, ImageEndMessage)

type Payload = str | bytes


def payloads(jpeg: bytes, frame_id: int) -> list[Payload]:
    """The WebSocket payloads the firmware sends for one JPEG (text as str, binary as bytes)."""
    size = len(jpeg)
    framing = framing_for(size)
    if framing is Framing.BINARY:
        return [jpeg]
    if framing is Framing.FRAME:
        return [
            _text({"type": "frame_start", "id": frame_id, "size": size}),
            jpeg,
            _text({"type": "frame_end", "id": frame_id}),
        ]
    chunk_size = chunk_size_for(size, Mode.SPEED)
    width, height = jpeg_dimensions(jpeg) or (0, 0)
    header = image_start_message(frame_id, size, chunk_size, width, height)
    chunks: list[Payload] = [
        jpeg[index * chunk_size : (index + 1) * chunk_size] for index in range(header["chunks"])
    ]
    footer = _text({"type": "img_end", "id": frame_id, "size": size, "success": True})
    return [_text(header), *chunks, footer]


def _text(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))


def replay(assembler: FrameAssembler, frame: list[Payload]) -> int:
    """Hand one frame's payloads to `assembler` as the listener does; return frames completed."""
    completed = 0
    for payload in frame:
        if isinstance(payload, str):
            message = parse_text_message(payload)
            if isinstance(message, _FRAMING_MESSAGES):
                assembler.handle_control(message)
        elif assembler.handle_binary(payload) is not None:
            completed += 1
    return completed


def cpu_us_per_frame(frame: list[Payload], frames: int, rounds: int) -> float:
    """This thread's CPU per frame assembled, in microseconds: the median of `rounds`."""
    assembler = FrameAssembler()
    replay(assembler, frame)  # warm: the first frame's allocations apart
    per_round = []
    for _ in range(rounds):
        started = time.thread_time_ns()
        completed = sum(replay(assembler, frame) for _ in range(frames))
        elapsed = time.thread_time_ns() - started
        if completed != frames:
            raise RuntimeError(f"{completed} of {frames} frames assembled: the replay is wrong")
        per_round.append(elapsed / frames / 1000)
    return statistics.median(per_round)


def run(*, quick: bool) -> list[dict[str, Any]]:
    """Each size's CPU per frame in the assembler (and the parse of its text messages)."""
    frames, rounds = (3000, 9) if quick else (10000, 9)
    rows = []
    for size_name in SIZES:
        size = FRAME_SIZES[size_name]
        frame = payloads(bytes(sequenced_jpeg(size)), frame_id=1)
        cost = cpu_us_per_frame(frame, frames, rounds)
        rows.append(
            {
                "size": size_name,
                "frame_bytes": size,
                "framing": str(framing_for(size)),
                "messages": len(frame),
                "us_per_frame": cost,
            }
        )
        log(f"assembler {size_name}: {cost:.1f} us per frame ({len(frame)} messages)")
    return rows


def table(results: dict[str, Any]) -> list[str]:
    """The assembler section: CPU per frame at each size."""
    if not (rows := results.get("assembler")):
        return []
    return [
        "",
        "Frame assembler alone (this process; parse + assemble, median of rounds)",
        cells("size", "framing", "messages", "CPU us/frame"),
        *(
            cells(row["size"], row["framing"], row["messages"], number(row["us_per_frame"], 1))
            for row in rows
        ),
    ]
