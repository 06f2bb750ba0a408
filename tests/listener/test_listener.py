"""The device listener over real sockets, with aiohttp WebSocket clients as cameras."""

from __future__ import annotations

import asyncio
from ipaddress import ip_network
import json
import socket
from typing import Any

import aiohttp
import pytest

from custom_components.esp32_camera.listener import (
    CLOSE_LIVENESS,
    CLOSE_REFUSED,
    CLOSE_WRONG_TOKEN,
    Admission,
    CameraNotAdmittedError,
    CommandTimeoutError,
    DeviceListener,
    ListenerBindError,
    ListenerSettings,
    UnknownCameraError,
)
from custom_components.esp32_camera.protocol import CommandValidationError, DropReason
from harness.hass_process import free_port
from tests.helpers import (
    LARGE_JPEG,
    LISTENER_TOKEN,
    OTHER_JPEG,
    SMALL_JPEG,
    ListenerFactory,
    RecordingObserver,
    answer_command,
    assert_silent,
    connect_from,
    listener_url,
    register,
    wait_for,
)


async def test_three_framings_end_to_end(
    start_listener: ListenerFactory, observer: RecordingObserver, session: aiohttp.ClientSession
) -> None:
    listener = await start_listener()
    async with session.ws_connect(listener_url(listener, query=f"?token={LISTENER_TOKEN}")) as ws:
        reply = await register(ws)
        assert reply["status"] == "ok"
        assert reply["message"] == "Camera registered"
        await ws.send_bytes(SMALL_JPEG)
        await ws.send_str(json.dumps({"type": "frame_start", "id": 1, "size": len(SMALL_JPEG)}))
        await ws.send_bytes(SMALL_JPEG)
        await ws.send_str(json.dumps({"type": "frame_end", "id": 1}))
        await ws.send_str(
            json.dumps(
                {
                    "type": "img_start",
                    "id": 2,
                    "size": len(LARGE_JPEG),
                    "chunks": 3,
                    "chunkSize": 24576,
                    "width": 320,
                    "height": 240,
                }
            )
        )
        for offset in range(0, len(LARGE_JPEG), 24576):
            await ws.send_bytes(LARGE_JPEG[offset : offset + 24576])
        # Published on the last byte, before img_end.
        await observer.wait_frames(3)
        await ws.send_str(
            json.dumps({"type": "img_end", "id": 2, "size": len(LARGE_JPEG), "success": True})
        )
        # The frames were not answered (the original server's `img_ack`, which the firmware
        # ignores, is not sent): the next message is the answer to a register sent after them.
        reply = await register(ws)
        assert reply["message"] == "Camera registered"
    frames = [frame for _, frame in observer.frames]
    assert [bytes(frame.data) for frame in frames] == [SMALL_JPEG, SMALL_JPEG, LARGE_JPEG]
    camera = listener.cameras["127.0.0.1"]
    assert camera.admission is Admission.TOKEN
    assert camera.stats.frames_received == 3
    assert bytes(camera.latest_frame.data) == LARGE_JPEG  # type: ignore[union-attr]


async def test_malformed_input_is_counted_and_does_not_disturb_others(
    start_listener: ListenerFactory, observer: RecordingObserver, session: aiohttp.ClientSession
) -> None:
    listener = await start_listener()
    async with (
        session.ws_connect(
            listener_url(listener, query=f"?token={LISTENER_TOKEN}&id=cam-a")
        ) as bad,
        session.ws_connect(
            listener_url(listener, query=f"?token={LISTENER_TOKEN}&id=cam-b")
        ) as good,
    ):
        await register(bad)
        await register(good)
        await bad.send_bytes(b"garbage that is not a jpeg")
        await bad.send_str("{not json")
        await bad.send_str(json.dumps({"type": "img_start", "id": 1, "size": 10**9}))
        await bad.send_str(json.dumps({"type": "img_start", "id": 2, "size": len(LARGE_JPEG)}))
        await bad.send_bytes(LARGE_JPEG[:5000])
        await bad.close()  # disconnect mid-frame
        await good.send_bytes(SMALL_JPEG)
        await observer.wait_frames(1)
        await good.send_bytes(SMALL_JPEG)
        await observer.wait_frames(2)
    assert {camera_id for camera_id, _ in observer.frames} == {"cam-b"}
    stats = listener.cameras["cam-a"].stats
    await wait_for(lambda: stats.failures.get(DropReason.DISCONNECTED) == 1)
    failures = stats.failures
    assert failures[DropReason.NOT_JPEG] == 1
    assert failures[DropReason.MALFORMED_MESSAGE] == 1
    assert failures[DropReason.TOO_LARGE] == 1
    assert failures[DropReason.DISCONNECTED] == 1


async def test_two_sockets_join_one_camera_and_commands_use_the_json_socket(
    start_listener: ListenerFactory, observer: RecordingObserver, session: aiohttp.ClientSession
) -> None:
    listener = await start_listener()
    async with (
        session.ws_connect(
            listener_url(listener, control=True, query=f"?token={LISTENER_TOKEN}")
        ) as control,
        session.ws_connect(listener_url(listener, query=f"?token={LISTENER_TOKEN}")) as stream,
    ):
        await register(control)
        await control.send_str(json.dumps({"type": "health", "heap": 1000, "model": "OV3660"}))
        await stream.send_bytes(SMALL_JPEG)
        await observer.wait_frames(1)
        assert list(listener.cameras) == ["127.0.0.1"]
        camera = listener.cameras["127.0.0.1"]
        assert len(camera.sockets) == 2

        async def answer() -> dict[str, Any]:
            command: dict[str, Any] = await control.receive_json(timeout=5)
            await control.send_str(
                json.dumps(
                    {
                        "type": "response",
                        "cmd": command["cmd"],
                        "status": "ok",
                        "value": command["val"],
                    }
                )
            )
            return command

        answering = asyncio.create_task(answer())
        result = await listener.send_command("127.0.0.1", "quality", 12)
        assert await answering == {"type": "command", "cmd": "quality", "val": "12"}
        assert (result.ok, result.value, result.queued) == (True, "12", False)
        assert camera.health is not None
        assert camera.health.model == "OV3660"
    assert observer.events.count(("connected", "127.0.0.1")) == 1


@pytest.mark.parametrize("how", ["query", "header", "register"])
async def test_token_admits_and_id_names_the_camera(
    how: str,
    start_listener: ListenerFactory,
    observer: RecordingObserver,
    session: aiohttp.ClientSession,
) -> None:
    listener = await start_listener()
    query = f"?token={LISTENER_TOKEN}&id=Porch" if how == "query" else ""
    headers = {"Authorization": f"Bearer {LISTENER_TOKEN}"} if how == "header" else {}
    extra = {"token": LISTENER_TOKEN, "id": "porch", "name": "Porch"} if how == "register" else {}
    async with session.ws_connect(listener_url(listener, query=query), headers=headers) as ws:
        await register(ws, **extra)
        await ws.send_bytes(SMALL_JPEG)
        await observer.wait_frames(1)
    camera_id = "127.0.0.1" if how == "header" else "porch"
    assert listener.cameras[camera_id].admission is Admission.TOKEN
    assert observer.frames[0][0] == camera_id


async def test_wrong_token_closes_4401(
    start_listener: ListenerFactory, observer: RecordingObserver, session: aiohttp.ClientSession
) -> None:
    listener = await start_listener()
    async with session.ws_connect(listener_url(listener, query="?token=wrong")) as ws:
        await ws.send_str(json.dumps({"type": "register", "device": "camera"}))
        message = await ws.receive(timeout=5)
        assert message.type is aiohttp.WSMsgType.CLOSE
        assert ws.close_code == CLOSE_WRONG_TOKEN
    assert ("auth_failed", "127.0.0.1") in observer.events
    assert not listener.cameras


async def test_pending_camera_then_approval_without_reconnect(
    start_listener: ListenerFactory, observer: RecordingObserver, session: aiohttp.ClientSession
) -> None:
    listener = await start_listener()
    async with session.ws_connect(listener_url(listener)) as ws:
        await register(ws)
        await ws.send_bytes(SMALL_JPEG)
        await ws.send_str(json.dumps({"type": "health", "rssi": -50}))
        await asyncio.sleep(0.1)
        camera = listener.cameras["127.0.0.1"]
        assert camera.admission is Admission.PENDING
        assert bytes(camera.latest_frame.data) == SMALL_JPEG  # type: ignore[union-attr]
        assert camera.health is not None
        assert not observer.frames
        assert observer.events.count(("pending", "127.0.0.1")) == 1
        with pytest.raises(CameraNotAdmittedError):
            await listener.send_command("127.0.0.1", "stats")
        listener.approve("127.0.0.1")
        assert ("connected", "127.0.0.1") in observer.events
        await ws.send_bytes(SMALL_JPEG)
        await observer.wait_frames(1)
    assert "127.0.0.1" in listener.settings.approved_addresses
    # Reconnecting: announced as pending once per address only, and now admitted at once.
    async with session.ws_connect(listener_url(listener)) as ws:
        await register(ws)
    assert observer.events.count(("pending", "127.0.0.1")) == 1
    assert listener.cameras["127.0.0.1"].reconnects == 1


async def test_reject_closes_4403_and_refuses_again(
    start_listener: ListenerFactory, session: aiohttp.ClientSession
) -> None:
    listener = await start_listener()
    async with session.ws_connect(listener_url(listener)) as ws:
        await register(ws)
        await ws.send_bytes(SMALL_JPEG)
        await wait_for(lambda: listener.pending_frame("127.0.0.1") is not None)
        listener.reject("127.0.0.1")
        message = await ws.receive(timeout=5)
        assert message.type is aiohttp.WSMsgType.CLOSE
        assert ws.close_code == CLOSE_REFUSED
    await wait_for(lambda: not listener.cameras)
    assert listener.pending_frame("127.0.0.1") is None  # no preview of a rejected address
    async with session.ws_connect(listener_url(listener)) as ws:
        message = await ws.receive(timeout=5)
        assert ws.close_code == CLOSE_REFUSED
        assert message.extra == "address rejected"


async def test_trusted_network_and_tokenless_refused(
    start_listener: ListenerFactory, observer: RecordingObserver, session: aiohttp.ClientSession
) -> None:
    trusting = await start_listener(trusted_networks=(ip_network("127.0.0.0/8"),))
    async with session.ws_connect(listener_url(trusting)) as ws:
        await register(ws)
        await ws.send_bytes(SMALL_JPEG)
        await observer.wait_frames(1)
    assert trusting.cameras["127.0.0.1"].admission is Admission.TRUSTED_NETWORK
    strict = await start_listener(allow_tokenless=False)
    async with session.ws_connect(listener_url(strict)) as ws:
        await ws.send_str(json.dumps({"type": "register", "device": "camera"}))
        await ws.receive(timeout=5)
        assert ws.close_code == CLOSE_REFUSED


async def test_stock_cameras_are_told_apart_by_address(
    start_listener: ListenerFactory, observer: RecordingObserver
) -> None:
    listener = await start_listener(trusted_networks=(ip_network("127.0.0.0/8"),))
    sockets = []
    for source in ("127.0.0.2", "127.0.0.3"):
        client = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(source, 0)))
        sockets.append((client, await client.ws_connect(listener_url(listener))))
    for _, ws in sockets:
        await register(ws)
        await ws.send_bytes(SMALL_JPEG)
    await observer.wait_frames(2)
    assert set(listener.cameras) == {"127.0.0.2", "127.0.0.3"}
    for client, ws in sockets:
        await ws.close()
        await client.close()


async def test_command_errors_timeout_and_validation(
    start_listener: ListenerFactory, session: aiohttp.ClientSession
) -> None:
    listener = await start_listener()
    with pytest.raises(UnknownCameraError):
        await listener.send_command("nobody", "stats")
    async with session.ws_connect(listener_url(listener, query=f"?token={LISTENER_TOKEN}")) as ws:
        await register(ws)
        with pytest.raises(CommandValidationError, match="quality must be an integer from 5 to 63"):
            await listener.send_command("127.0.0.1", "quality", 70)
        with pytest.raises(CommandTimeoutError, match="did not answer"):
            await listener.send_command("127.0.0.1", "stats")  # nobody answers
        assert (await ws.receive_json(timeout=5))["cmd"] == "stats"

        async def refuse() -> None:
            command = await ws.receive_json(timeout=5)
            await ws.send_str(
                json.dumps({"type": "response", "cmd": command["cmd"], "status": "error"})
            )

        refusing = asyncio.create_task(refuse())
        result = await listener.send_command("127.0.0.1", "sensor_reset")
        await refusing
        assert not result.ok


async def test_offline_queue_reboot_first_newest_wins_bounded(
    start_listener: ListenerFactory, observer: RecordingObserver, session: aiohttp.ClientSession
) -> None:
    listener = await start_listener(command_queue_size=3)
    async with session.ws_connect(listener_url(listener, query=f"?token={LISTENER_TOKEN}")) as ws:
        await register(ws)
    await asyncio.sleep(0.05)
    assert ("disconnected", "127.0.0.1") in observer.events
    for name, value in (
        ("quality", 20),
        ("fps", 10),
        ("quality", 30),
        ("reboot", None),
        ("brightness", 1),
    ):
        result = await listener.send_command("127.0.0.1", name, value)
        assert result.queued
    assert listener.cameras["127.0.0.1"].queued_commands == {
        "quality": "30",
        "reboot": "",
        "brightness": "1",
    }
    async with session.ws_connect(listener_url(listener, query=f"?token={LISTENER_TOKEN}")) as ws:
        await register(ws)
        delivered = [(await ws.receive_json(timeout=5)) for _ in range(3)]
    assert [(c["cmd"], c["val"]) for c in delivered] == [
        ("reboot", ""),
        ("quality", "30"),
        ("brightness", "1"),
    ]
    assert not listener.cameras["127.0.0.1"].queued_commands


async def test_restored_camera_queues_and_is_admitted_afresh(
    start_listener: ListenerFactory, observer: RecordingObserver, session: aiohttp.ClientSession
) -> None:
    listener = await start_listener()
    porch = listener.restore_camera("porch", name="Porch", firmware="2.0")
    stock = listener.restore_camera("127.0.0.1")
    assert listener.restore_camera("porch") is porch
    assert (porch.address, porch.name, porch.firmware) == ("", "Porch", "2.0")
    assert stock.address == "127.0.0.1"
    assert porch.admitted
    assert not porch.connected
    assert (await listener.send_command("porch", "quality", 20)).queued
    # A device without the token that claims the id is not admitted by the restored record.
    async with session.ws_connect(listener_url(listener, query="?id=porch")) as ws:
        await register(ws)
        assert porch.admission is Admission.RESTORED
        assert ("pending", "127.0.0.1") in observer.events
        assert ("connected", "porch") not in observer.events
    await asyncio.sleep(0.05)
    # The camera itself, with the token, is admitted and gets what was queued.
    async with session.ws_connect(
        listener_url(listener, query=f"?token={LISTENER_TOKEN}&id=porch")
    ) as ws:
        await register(ws)
        command = await ws.receive_json(timeout=5)
        assert (command["cmd"], command["val"]) == ("quality", "20")
        assert listener.cameras["porch"] is porch
        assert porch.admission is Admission.TOKEN
        # A connected camera is not forgotten; a disconnected (or unknown) one is.
        assert not listener.forget_camera("porch")
    await asyncio.sleep(0.05)
    assert listener.forget_camera("porch")
    assert listener.forget_camera("unknown")
    assert "porch" not in listener.cameras


@pytest.mark.parametrize("how", ["query", "register"])
async def test_tokenless_claim_of_an_offline_token_camera_is_not_admitted(
    how: str,
    start_listener: ListenerFactory,
    observer: RecordingObserver,
    session: aiohttp.ClientSession,
) -> None:
    listener = await start_listener()
    async with session.ws_connect(
        listener_url(listener, query=f"?token={LISTENER_TOKEN}&id=porch")
    ) as ws:
        await register(ws, name="Porch")
        await ws.send_bytes(SMALL_JPEG)
        await observer.wait_frames(1)
    porch = listener.cameras["porch"]
    await wait_for(lambda: not porch.connected)
    assert (await listener.send_command("porch", "quality", 20)).queued
    query, extra = ("?id=porch", {}) if how == "query" else ("", {"id": "porch"})
    async with session.ws_connect(listener_url(listener, query=query)) as impostor:
        await register(impostor, name="Evil", firmware="evil", **extra)
        await impostor.send_str(json.dumps({"type": "health", "model": "EVIL"}))
        await impostor.send_bytes(OTHER_JPEG)
        await register(impostor, **extra)  # handled in order: everything above was read
        # The camera is still offline: its commands queue, none reaches the impostor.
        assert not porch.connected
        assert (await listener.send_command("porch", "stats")).queued
        await assert_silent(impostor)
        assert porch.queued_commands == {"quality": "20", "stats": ""}
        assert ("pending", "127.0.0.1") in observer.events
    assert len(observer.frames) == 1
    assert porch.admission is Admission.TOKEN
    assert (porch.name, porch.firmware, porch.health) == ("Porch", None, None)
    assert bytes(porch.latest_frame.data) == SMALL_JPEG  # type: ignore[union-attr]
    assert observer.events.count(("connected", "porch")) == 1
    assert observer.events.count(("disconnected", "porch")) == 1


async def test_tokenless_claim_is_ignored_while_the_camera_is_online(
    start_listener: ListenerFactory, observer: RecordingObserver, session: aiohttp.ClientSession
) -> None:
    listener = await start_listener()
    async with session.ws_connect(
        listener_url(listener, query=f"?token={LISTENER_TOKEN}&id=porch")
    ) as real:
        await register(real, name="Porch")
        porch = listener.cameras["porch"]
        async with session.ws_connect(listener_url(listener, query="?id=porch")) as impostor:
            await register(impostor, name="Evil")
            await impostor.send_bytes(OTHER_JPEG)
            await register(impostor)
            assert len(porch.sockets) == 1
            assert porch.name == "Porch"
            # Commands still go to the camera (the impostor registered last).
            answering = asyncio.create_task(answer_command(real))
            assert (await listener.send_command("porch", "quality", 12)).ok
            assert (await answering)["cmd"] == "quality"
            await assert_silent(impostor)
            await real.send_bytes(SMALL_JPEG)
            await observer.wait_frames(1)
            # A wrong token is refused as always.
            async with session.ws_connect(
                listener_url(listener, query="?id=porch&token=nope")
            ) as wrong:
                await wrong.send_str(json.dumps({"type": "register", "device": "camera"}))
                await wrong.receive(timeout=5)
                assert wrong.close_code == CLOSE_WRONG_TOKEN
        await register(real)  # the impostor has gone
        assert porch.connected
    assert [bytes(frame.data) for _, frame in observer.frames] == [SMALL_JPEG]
    assert ("disconnected", "porch") in observer.events
    assert observer.events.count(("disconnected", "porch")) == 1


@pytest.mark.parametrize("admitted_by", ["approval", "trusted_network"])
@pytest.mark.parametrize("query", ["?id=garden", ""])
async def test_another_address_claiming_an_admitted_id_is_not_admitted(
    admitted_by: str,
    query: str,
    start_listener: ListenerFactory,
    observer: RecordingObserver,
) -> None:
    listener = await start_listener(
        **(
            {"approved_addresses": frozenset({"127.0.0.2"})}
            if admitted_by == "approval"
            else {"trusted_networks": (ip_network("127.0.0.2/32"),)}
        )
    )
    admission = Admission.APPROVED if admitted_by == "approval" else Admission.TRUSTED_NETWORK
    camera_id = "127.0.0.2"  # without the token the id is the address, whatever it sends
    async with connect_from("127.0.0.2", listener_url(listener, query=query)) as ws:
        await register(ws)
        await ws.send_bytes(SMALL_JPEG)
        await observer.wait_frames(1)
    camera = listener.cameras[camera_id]
    assert camera.admission is admission
    await wait_for(lambda: not camera.connected)
    async with connect_from(
        "127.0.0.3", listener_url(listener, query=f"?id={camera_id}")
    ) as impostor:
        await register(impostor, name="Evil")
        await impostor.send_bytes(OTHER_JPEG)
        await register(impostor)
        assert (await listener.send_command(camera_id, "stats")).queued
        await assert_silent(impostor)
        assert ("pending", "127.0.0.3") in observer.events
    assert len(observer.frames) == 1
    assert (camera.admission, camera.address, camera.name) == (admission, "127.0.0.2", None)
    assert camera.queued_commands == {"stats": ""}


async def test_tokenless_claim_of_a_restored_camera_never_joins_it(
    start_listener: ListenerFactory, observer: RecordingObserver, session: aiohttp.ClientSession
) -> None:
    listener = await start_listener()
    porch = listener.restore_camera("porch", name="Porch")
    async with session.ws_connect(listener_url(listener, query="?id=porch")) as impostor:
        await register(impostor, name="Evil")
        await impostor.send_bytes(OTHER_JPEG)
        await register(impostor)
        assert porch.admission is Admission.RESTORED
        assert (porch.connected, porch.name, porch.latest_frame) == (False, "Porch", None)
        assert listener.pending_frame("127.0.0.1") is not None  # the preview for an approval
        # The camera comes with the token while the impostor stays connected.
        async with session.ws_connect(
            listener_url(listener, query=f"?token={LISTENER_TOKEN}&id=porch")
        ) as real:
            await register(real)
            assert porch.admission is Admission.TOKEN
            assert len(porch.sockets) == 1
            await impostor.send_bytes(OTHER_JPEG)
            await register(impostor)
            answering = asyncio.create_task(answer_command(real))
            assert (await listener.send_command("porch", "stats")).ok
            await answering
            await assert_silent(impostor)
            await real.send_bytes(SMALL_JPEG)
            await observer.wait_frames(1)
    assert [bytes(frame.data) for _, frame in observer.frames] == [SMALL_JPEG]
    assert porch.name == "Porch"


async def test_a_token_camera_does_not_take_over_a_pending_connection_of_its_id(
    start_listener: ListenerFactory, observer: RecordingObserver, session: aiohttp.ClientSession
) -> None:
    listener = await start_listener()
    async with session.ws_connect(listener_url(listener, query="?id=cam")) as early:
        await register(early, name="Evil")
        await early.send_str(json.dumps({"type": "health", "model": "EVIL"}))
        await early.send_bytes(OTHER_JPEG)
        await register(early)
        assert "cam" not in listener.cameras  # without the token its id is its address
        assert listener.cameras["127.0.0.1"].admission is Admission.PENDING
        async with session.ws_connect(
            listener_url(listener, query=f"?token={LISTENER_TOKEN}&id=cam")
        ) as real:
            await register(real)
            cam = listener.cameras["cam"]
            assert cam.admission is Admission.TOKEN
            # Nothing the pending connection sent is the camera's.
            assert (cam.name, cam.health, cam.latest_frame) == (None, None, None)
            assert len(cam.sockets) == 1
            await early.send_bytes(OTHER_JPEG)
            await register(early)
            answering = asyncio.create_task(answer_command(real))
            assert (await listener.send_command("cam", "stats")).ok
            await answering
            await assert_silent(early)
            assert listener.pending_frame("127.0.0.1") is not None
    assert not observer.frames
    assert observer.events.count(("connected", "cam")) == 1


async def test_approving_an_address_lets_its_restored_camera_come_back(
    start_listener: ListenerFactory, observer: RecordingObserver
) -> None:
    listener = await start_listener()
    camera = listener.restore_camera("127.0.0.3")
    assert (await listener.send_command("127.0.0.3", "reboot")).queued
    async with connect_from("127.0.0.3", listener_url(listener, query="?id=garden")) as ws:
        await register(ws, name="Garden")
        await ws.send_bytes(OTHER_JPEG)
        await register(ws)
        assert listener.pending_frame("127.0.0.3") is not None
        assert listener.pending_frame("127.0.0.9") is None
        assert listener.cameras["127.0.0.3"] is camera  # the pending one is not listed over it
        assert not observer.frames
        listener.approve("127.0.0.3")
        assert (camera.admission, camera.address, camera.connected) == (
            Admission.APPROVED,
            "127.0.0.3",
            True,
        )
        assert listener.pending_frame("127.0.0.3") is None
        # The queue is delivered at once; commands and frames flow on the same socket.
        assert (await ws.receive_json(timeout=5))["cmd"] == "reboot"
        answering = asyncio.create_task(answer_command(ws))
        assert (await listener.send_command("127.0.0.3", "stats")).ok
        await answering
        await ws.send_bytes(SMALL_JPEG)
        await observer.wait_frames(1)
    assert "garden" not in listener.cameras
    assert observer.events.count(("connected", "127.0.0.3")) == 1


async def test_the_sockets_of_a_pending_camera_are_one_record_while_connected(
    start_listener: ListenerFactory, observer: RecordingObserver, session: aiohttp.ClientSession
) -> None:
    listener = await start_listener()
    query = listener_url(listener, query="?id=cam")
    async with (
        connect_from("127.0.0.3", query) as control,
        connect_from("127.0.0.3", query) as stream,
        session.ws_connect(listener_url(listener, query=f"?token={LISTENER_TOKEN}&id=cam")) as real,
    ):
        await register(control)
        await stream.send_bytes(OTHER_JPEG)
        await register(real)
        await wait_for(lambda: len(listener.cameras["127.0.0.3"].sockets) == 2)
        pending = listener.cameras["127.0.0.3"]
        cam = listener.cameras["cam"]
        assert (cam.admission, len(cam.sockets)) == (Admission.TOKEN, 1)
        async with connect_from("127.0.0.3", query) as third:
            await third.send_bytes(OTHER_JPEG)
            await wait_for(lambda: len(pending.sockets) == 3)
        await wait_for(lambda: len(pending.sockets) == 2)
        await control.close()
        await wait_for(lambda: len(pending.sockets) == 1)
        assert not observer.frames
        # Approved, the address is its own camera; the token camera is untouched.
        listener.approve("127.0.0.3")
        assert listener.cameras["127.0.0.3"] is pending
        assert pending.admission is Admission.APPROVED
        await stream.send_bytes(SMALL_JPEG)
        await observer.wait_frames(1)
        assert len(cam.sockets) == 1
        answering = asyncio.create_task(answer_command(real))
        assert (await listener.send_command("cam", "stats")).ok
        await answering
    assert [(camera_id, bytes(frame.data)) for camera_id, frame in observer.frames] == [
        ("127.0.0.3", SMALL_JPEG)
    ]
    assert observer.events.count(("connected", "127.0.0.3")) == 1


async def test_pings_are_answered_and_count_as_liveness(
    start_listener: ListenerFactory, session: aiohttp.ClientSession
) -> None:
    listener = await start_listener(liveness_timeout=1.5)
    async with session.ws_connect(
        listener_url(listener, query=f"?token={LISTENER_TOKEN}"), autoping=False
    ) as ws:
        await register(ws)
        for _ in range(4):  # 2 s of pings only: longer than the liveness timeout
            await ws.ping(b"beat")
            pong = await ws.receive(timeout=5)
            assert (pong.type, pong.data) == (aiohttp.WSMsgType.PONG, b"beat")
            await asyncio.sleep(0.5)
        assert listener.cameras["127.0.0.1"].connected


async def test_liveness_timeout_closes_silent_camera(
    start_listener: ListenerFactory, observer: RecordingObserver, session: aiohttp.ClientSession
) -> None:
    listener = await start_listener(liveness_timeout=1.5)
    async with session.ws_connect(listener_url(listener, query=f"?token={LISTENER_TOKEN}")) as ws:
        await register(ws)
        message = await ws.receive(timeout=5)
        assert message.type is aiohttp.WSMsgType.CLOSE
        assert ws.close_code == CLOSE_LIVENESS
    await asyncio.sleep(0.05)
    assert not listener.cameras["127.0.0.1"].connected
    assert ("disconnected", "127.0.0.1") in observer.events


async def test_frame_timeout_drops_stalled_transfer(
    start_listener: ListenerFactory, session: aiohttp.ClientSession
) -> None:
    listener = await start_listener(frame_timeout=0.2)
    async with session.ws_connect(listener_url(listener, query=f"?token={LISTENER_TOKEN}")) as ws:
        await register(ws)
        await ws.send_str(json.dumps({"type": "img_start", "id": 1, "size": len(LARGE_JPEG)}))
        await ws.send_bytes(LARGE_JPEG[:1024])
        await asyncio.sleep(1.5)
        assert listener.cameras["127.0.0.1"].stats.failures == {DropReason.TIMEOUT: 1}


async def test_stop_frees_ports_every_time(observer: RecordingObserver) -> None:
    ports = {"stream_port": free_port(), "control_port": free_port()}
    for _ in range(2):
        listener = DeviceListener(
            ListenerSettings(token=LISTENER_TOKEN, host="127.0.0.1", **ports), observer
        )
        await listener.start()
        async with aiohttp.ClientSession() as client:
            ws = await client.ws_connect(f"http://127.0.0.1:{ports['stream_port']}/")
            stopping = asyncio.create_task(listener.stop())
            message = await ws.receive(timeout=5)
            await stopping
            assert message.type is aiohttp.WSMsgType.CLOSE
            assert ws.close_code == 1001
    for port in ports.values():
        with socket.create_server(("127.0.0.1", port)):
            pass


async def test_bind_error_names_the_port_and_leaves_nothing_bound(
    observer: RecordingObserver,
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        taken = busy.getsockname()[1]
        free = free_port()
        listener = DeviceListener(
            ListenerSettings(
                token=LISTENER_TOKEN, host="127.0.0.1", stream_port=free, control_port=taken
            ),
            observer,
        )
        with pytest.raises(ListenerBindError) as caught:
            await listener.start()
        assert caught.value.port == taken
    with socket.create_server(("127.0.0.1", free)):
        pass


async def test_cameras_reconnecting_during_stop_are_closed_with_1001(
    observer: RecordingObserver,
) -> None:
    """A camera that dials while the listener stops is refused or told 1001, never left running.

    Cameras redial at once (a reload): stop closes the listening sockets before the sessions, and
    a connection accepted in between is closed on arrival, so none waits for aiohttp's shutdown
    timeout and none ends abnormally.
    """
    ports = {"stream_port": free_port(), "control_port": free_port()}
    listener = DeviceListener(
        ListenerSettings(token=LISTENER_TOKEN, host="127.0.0.1", **ports), observer
    )
    await listener.start()
    close_codes: list[int | None] = []
    stopped, connected = asyncio.Event(), asyncio.Event()

    async def redial(client: aiohttp.ClientSession) -> None:
        while not stopped.is_set():
            try:
                ws = await client.ws_connect(
                    f"http://127.0.0.1:{ports['stream_port']}/?token={LISTENER_TOKEN}&id=redial"
                )
            except aiohttp.ClientError:
                continue  # the port is closed: the listener has stopped
            connected.set()
            async for _ in ws:
                pass
            close_codes.append(ws.close_code)

    async with aiohttp.ClientSession() as client:
        cameras = [asyncio.create_task(redial(client)) for _ in range(8)]
        # Stop while cameras are connected and redialling (however slow the machine is).
        async with asyncio.timeout(10):
            await connected.wait()
        await asyncio.sleep(0.05)
        await listener.stop()
        stopped.set()
        # Without closing late arrivals, such a camera stayed connected to a stopped listener.
        async with asyncio.timeout(10):
            await asyncio.gather(*cameras)
    assert close_codes
    assert set(close_codes) == {1001}
