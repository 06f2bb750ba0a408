"""The snapshot and send_command actions, and HA's own camera.snapshot, over real sockets."""

from __future__ import annotations

import json
from pathlib import Path
import time
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.esp32_camera.const import DOMAIN
from custom_components.esp32_camera.disk.layout import TEMP_PREFIX
from custom_components.esp32_camera.hub.devices import camera_device_identifier
from custom_components.esp32_camera.protocol import Frame, is_jpeg, jpeg_dimensions
from tests.helpers import ENTITY, INTEGRATION, jpeg_bytes, setup_with_camera, wait_for


async def snapshot(hass: HomeAssistant, **data: Any) -> dict[str, Any]:
    """Call esp32_camera.snapshot on the camera entity; return its response."""
    response = await hass.services.async_call(
        DOMAIN,
        "snapshot",
        {"entity_id": ENTITY, **data},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    result: dict[str, Any] = response[ENTITY]  # type: ignore[assignment]
    return result


async def send_command(hass: HomeAssistant, **data: Any) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN, "send_command", data, blocking=True, return_response=True
    )
    assert response is not None
    return dict(response)


async def test_snapshot_saves_the_latest_frame(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any, tmp_path: Path
) -> None:
    camera = await setup_with_camera(hass, hub_entry, connect_camera)
    frame = jpeg_bytes(320, 240, (10, 200, 30))
    await camera.send_frame(frame)
    hub = hub_entry.runtime_data
    await wait_for(lambda: hub.cameras["cam1"].latest_frame is not None)
    result = await snapshot(hass)
    path = Path(result["path"])
    assert path.parent == tmp_path / "saved" / "cam1" / "snapshots"
    assert path.read_bytes() == frame
    assert result == {"path": str(path), "size": len(frame), "width": 320, "height": 240}
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left
    # Counted with the saved images, as the original counted its "save now" images.
    counters = hub.saver.counters("cam1")
    assert (counters.saved_total, counters.saved_today) == (1, 1)
    assert counters.saved_bytes == len(frame)
    assert counters.last_saved_path == str(path)


async def test_fresh_snapshot_skips_the_frame_in_transfer(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    """The frame being transferred when the action is called shows the past: the next one is saved."""
    camera = await setup_with_camera(hass, hub_entry, connect_camera)
    hub = hub_entry.runtime_data
    old, in_transfer, fresh = (jpeg_bytes(color=(i * 80, 0, 0)) for i in range(3))
    await camera.send_frame(old)
    await wait_for(lambda: hub.cameras["cam1"].latest_frame is not None)
    await camera.send_json({"type": "frame_start", "id": 1, "size": len(in_transfer)})
    # Messages of one socket are handled in order: once this status is seen, so was frame_start.
    await camera.send_json({"type": "status", "msg": "sending"})
    await wait_for(lambda: hub.cameras["cam1"].last_status == "sending")
    task = hass.async_create_task(snapshot(hass, fresh=True))
    await wait_for(lambda: hub.frames._waiters.get("cam1"))  # the action waits for a frame
    await camera.send_frame(in_transfer)
    await camera.send_json({"type": "frame_end", "id": 1})
    await wait_for(lambda: hub.cameras["cam1"].latest_frame.data == in_transfer)
    assert not task.done()
    await camera.send_frame(fresh)
    result = await task
    assert Path(result["path"]).read_bytes() == fresh


async def test_fresh_snapshot_from_the_simulator_started_after_the_call(
    hass: HomeAssistant, hub_entry: MockConfigEntry, simulate: Any
) -> None:
    """Slow chunked frames (VGA, stability pacing): the saved one started after the call."""
    await setup_with_camera(hass, hub_entry, lambda: simulate(resolution=5, fps=5))
    hub = hub_entry.runtime_data
    received: list[Frame] = []
    hub.frames.async_add_listener(lambda _camera, frame: received.append(frame), "cam1")
    await wait_for(lambda: received)
    stale = hub.cameras["cam1"].latest_frame
    called_at = time.monotonic()
    result = await snapshot(hass, fresh=True)
    data = Path(result["path"]).read_bytes()
    saved = next(frame for frame in received if bytes(frame.data) == data)
    assert saved.started_at > called_at
    assert saved is not stale
    assert is_jpeg(data)
    assert (result["width"], result["height"]) == (640, 480) == jpeg_dimensions(data)


async def test_snapshot_at_a_resolution_switches_there_and_back(
    hass: HomeAssistant, hub_entry: MockConfigEntry, simulate: Any
) -> None:
    camera = await setup_with_camera(
        hass, hub_entry, lambda: simulate(resolution=3, mode="speed", fps=10)
    )
    hub = hub_entry.runtime_data
    await wait_for(lambda: hub.cameras["cam1"].health is not None)
    received: list[bytes] = []
    hub.frames.async_add_listener(lambda _camera, frame: received.append(bytes(frame.data)), "cam1")
    result = await snapshot(hass, resolution="vga")
    data = Path(result["path"]).read_bytes()
    assert data in received
    assert is_jpeg(data)
    assert jpeg_dimensions(data) == (640, 480)
    assert (result["width"], result["height"]) == (640, 480)
    # Switched back to QVGA; the detour is not remembered as the user's setting.
    await camera.wait_for(lambda cam: ("resolution", "3") in cam.commands_received)
    assert camera.commands_received[-2:] == [("resolution", "5"), ("resolution", "3")]
    assert camera.resolution.index == 3
    assert "resolution" not in hub.settings.chosen("cam1")
    # The index form, at the resolution it streams at already: no command is sent.
    result = await snapshot(hass, resolution="3")
    assert (result["width"], result["height"]) == (320, 240)
    assert len(camera.commands_received) == 2
    # A resolution the user chose is the one switched back to, and stays the chosen one.
    await send_command(hass, entity_id=ENTITY, command="resolution", value="4")
    result = await snapshot(hass, resolution="qvga")
    assert (result["width"], result["height"]) == (320, 240)
    await camera.wait_for(lambda cam: len(cam.commands_received) == 5)
    assert camera.commands_received[-2:] == [("resolution", "3"), ("resolution", "4")]
    assert hub.settings.chosen("cam1")["resolution"] == "4"


async def test_snapshot_filename_template(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any, tmp_path: Path
) -> None:
    camera = await setup_with_camera(hass, hub_entry, connect_camera)
    frame = jpeg_bytes()
    await camera.send_frame(frame)
    # Relative: under the save directory; the variables entity_id and camera_id.
    result = await snapshot(hass, filename="{{ camera_id }}/{{ entity_id.split('.')[1] }}.jpg")
    assert result["path"] == str(tmp_path / "saved" / "cam1" / "esp32_camera_cam1.jpg")
    assert Path(result["path"]).read_bytes() == frame
    # Without asking for the response, as automations usually call it.
    await hass.services.async_call(
        DOMAIN, "snapshot", {"entity_id": ENTITY, "filename": "plain.jpg"}, blocking=True
    )
    assert (tmp_path / "saved" / "plain.jpg").read_bytes() == frame
    # Absolute, in another allowed folder.
    result = await snapshot(hass, filename=f"{tmp_path}/door_{{{{ now().year }}}}.jpg")
    assert Path(result["path"]).parent == tmp_path
    assert Path(result["path"]).read_bytes() == frame
    # Files of the user's choosing are not among the save directory's counted images.
    assert hub_entry.runtime_data.saver.counters("cam1").saved_total == 0


@pytest.mark.parametrize("filename", ["/etc/esp32_camera.jpg", "../../../outside.jpg"])
async def test_snapshot_refuses_paths_outside_allowed_folders(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any, filename: str
) -> None:
    camera = await setup_with_camera(hass, hub_entry, connect_camera)
    await camera.send_frame(jpeg_bytes())
    with pytest.raises(ServiceValidationError) as error:
        await snapshot(hass, filename=filename)
    assert error.value.translation_key == "path_not_allowed"
    assert "is not allowed" in str(error.value)
    assert "allowlist_external_dirs" in str(error.value)


async def test_failed_write_leaves_no_partial_file(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any, tmp_path: Path
) -> None:
    """The rename onto an existing folder fails after the data was written: nothing is left."""
    camera = await setup_with_camera(hass, hub_entry, connect_camera)
    await camera.send_frame(jpeg_bytes())
    (tmp_path / "saved" / "taken.jpg").mkdir(parents=True)
    with pytest.raises(HomeAssistantError) as error:
        # overwrite: the folder is no file of the user's (else: "file_exists", nothing tried).
        await snapshot(hass, filename="taken.jpg", overwrite=True)
    assert error.value.translation_key == "snapshot_write_failed"
    leftovers = [p.name for p in (tmp_path / "saved").iterdir()]
    assert leftovers == ["taken.jpg"]
    assert not any(name.startswith(TEMP_PREFIX) for name in leftovers)


async def test_snapshot_errors(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    """No frame in time, an unknown resolution and an empty file name are refused clearly."""
    await setup_with_camera(hass, hub_entry, connect_camera)
    with pytest.raises(HomeAssistantError) as error:
        await snapshot(hass, timeout=1)
    assert error.value.translation_key == "snapshot_timeout"
    assert str(error.value) == "No frame from camera cam1 within 1 seconds"
    with pytest.raises(ServiceValidationError) as error:
        await snapshot(hass, resolution="8k")
    assert error.value.translation_key == "invalid_resolution"
    with pytest.raises(ServiceValidationError) as error:
        await snapshot(hass, filename="{{ '' }}")
    assert error.value.translation_key == "invalid_filename"


async def test_home_assistant_camera_snapshot(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any, tmp_path: Path
) -> None:
    camera = await setup_with_camera(hass, hub_entry, connect_camera)
    frame = jpeg_bytes(color=(1, 2, 3))
    await camera.send_frame(frame)
    await wait_for(lambda: hub_entry.runtime_data.cameras["cam1"].latest_frame is not None)
    target = tmp_path / "ha_snapshot.jpg"
    await hass.services.async_call(
        "camera", "snapshot", {"entity_id": ENTITY, "filename": str(target)}, blocking=True
    )
    assert target.read_bytes() == frame


async def test_send_command_by_entity_device_and_camera_id(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    simulate: Any,
    device_registry: dr.DeviceRegistry,
) -> None:
    camera = await setup_with_camera(hass, hub_entry, lambda: simulate(mode="speed", fps=5))
    result = await send_command(hass, entity_id=ENTITY, command="quality", value="20")
    assert result == {"cameras": {"cam1": {"ok": True, "value": "20", "queued": False}}}
    device = device_registry.async_get_device_by_identifier(
        camera_device_identifier(hub_entry.entry_id, "cam1"), hub_entry.entry_id
    )
    assert device is not None
    result = await send_command(hass, device_id=device.id, command="vflip", value="on")
    assert result["cameras"]["cam1"]["ok"]
    # The hub device targets its cameras.
    hub_device = device_registry.async_get_device_by_identifier(
        (DOMAIN, hub_entry.entry_id), hub_entry.entry_id
    )
    assert hub_device is not None
    result = await send_command(hass, device_id=hub_device.id, command="mode", value="stability")
    assert result["cameras"]["cam1"]["value"] == "stability"
    result = await send_command(hass, camera_id="CAM1", command="stats")
    assert result["cameras"]["cam1"]["ok"]
    assert camera.commands_received == [
        ("quality", "20"),
        ("vflip", "1"),
        ("mode", "stability"),
        ("stats", ""),
    ]
    assert camera.quality == 20
    assert hub_entry.runtime_data.settings.chosen("cam1")["quality"] == "20"


async def test_send_command_refusals(
    hass: HomeAssistant, hub_entry: MockConfigEntry, simulate: Any
) -> None:
    camera = await setup_with_camera(hass, hub_entry, lambda: simulate(mode="speed", fps=5))
    refusals: list[tuple[dict[str, Any], type[Exception], str]] = [
        ({"entity_id": ENTITY, "command": "zoom"}, ServiceValidationError, "unknown_command"),
        (
            {"entity_id": ENTITY, "command": "quality", "value": "99"},
            ServiceValidationError,
            "invalid_command_value",
        ),
        ({"camera_id": "garage", "command": "stats"}, ServiceValidationError, "unknown_camera"),
        (
            {"entity_id": "sun.sun", "command": "stats"},
            ServiceValidationError,
            "no_camera_targeted",
        ),
        # The stock firmware answers sensor_reset with an error response.
        ({"entity_id": ENTITY, "command": "sensor_reset"}, HomeAssistantError, "command_failed"),
    ]
    for data, kind, key in refusals:
        with pytest.raises(kind) as error:
            await send_command(hass, **data)
        assert error.value.translation_key == key, data
    assert camera.commands_received == [("sensor_reset", "")]
    error_text = str(error.value)
    assert "refused the sensor_reset command" in error_text


async def test_send_command_without_a_loaded_hub(
    hass: HomeAssistant, hub_entry: MockConfigEntry
) -> None:
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    assert await hass.config_entries.async_unload(hub_entry.entry_id)
    with pytest.raises(ServiceValidationError) as error:
        await send_command(hass, camera_id="cam1", command="stats")
    assert error.value.translation_key == "not_loaded"


def test_services_yaml_lists_every_command_and_resolution() -> None:
    """The selectors offer exactly the command table and the resolution table."""
    import yaml

    from custom_components.esp32_camera.protocol import COMMANDS, RESOLUTIONS

    root = INTEGRATION
    services = yaml.safe_load((root / "services.yaml").read_text())
    strings = json.loads((root / "strings.json").read_text())
    commands = services["send_command"]["fields"]["command"]["selector"]["select"]["options"]
    resolutions = services["snapshot"]["fields"]["resolution"]["selector"]["select"]["options"]
    assert commands == list(COMMANDS)
    assert resolutions == [resolution.key for resolution in RESOLUTIONS]
    assert set(strings["selector"]["command"]["options"]) == set(COMMANDS)
    assert set(strings["selector"]["resolution"]["options"]) == set(resolutions)


async def test_snapshot_at_a_resolution_known_only_from_the_frames(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No health and no setting: the frames tell the size; a refused switch back is logged."""
    camera = await setup_with_camera(hass, hub_entry, connect_camera)
    await camera.send_frame(jpeg_bytes(160, 120))
    task = hass.async_create_task(snapshot(hass, resolution="qvga"))
    assert await camera.ws.receive_json(timeout=5) == {
        "type": "command",
        "cmd": "resolution",
        "val": "3",
    }
    await camera.send_frame(jpeg_bytes(160, 120))  # before the switch: skipped
    await camera.send_json({"type": "response", "cmd": "resolution", "status": "ok", "value": "3"})
    large = jpeg_bytes(320, 240)
    await camera.send_frame(large)
    restore = await camera.ws.receive_json(timeout=5)
    assert restore == {"type": "command", "cmd": "resolution", "val": "0"}
    await camera.send_json(
        {"type": "response", "cmd": "resolution", "status": "error", "value": "busy"}
    )
    result = await task
    assert Path(result["path"]).read_bytes() == large
    assert "Could not switch cam1 back to QQVGA" in caplog.text
    assert "resolution" not in hub_entry.runtime_data.settings.chosen("cam1")
