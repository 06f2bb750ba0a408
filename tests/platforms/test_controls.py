"""Camera controls (select, number, switch, button) and continuous-saving entities.

Each control is driven through Home Assistant's services against a simulated camera over real
sockets; what the camera received and applied is read from the simulator.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from homeassistant.components.button import DOMAIN as BUTTON_DOMAIN, SERVICE_PRESS
from homeassistant.components.number import (
    ATTR_VALUE,
    DOMAIN as NUMBER_DOMAIN,
    SERVICE_SET_VALUE,
)
from homeassistant.components.select import (
    ATTR_OPTION,
    DOMAIN as SELECT_DOMAIN,
    SERVICE_SELECT_OPTION,
)
from homeassistant.components.switch import DOMAIN as SWITCH_DOMAIN
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import (
    ATTR_ENTITY_ID,
    SERVICE_TURN_OFF,
    SERVICE_TURN_ON,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    EntityCategory,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.esp32_camera.const import CONF_STREAM_PORT
from custom_components.esp32_camera.hub.entity_updates import STATISTICS_WRITE_INTERVAL
from esp32_simulator import SimulatedCamera
from esp32_simulator.camera import Mode
from tests.helpers import HUB_TOKEN, CameraClient, answer, shorten_command_timeout, wait_for

PREFIX = "esp32_camera_cam1"
RESOLUTION = f"select.{PREFIX}_resolution"
MODE = f"select.{PREFIX}_sending_mode"
QUALITY = f"number.{PREFIX}_jpeg_quality"
FPS = f"number.{PREFIX}_target_frame_rate"
SAVING_RATE = f"number.{PREFIX}_saving_rate_limit"
MIRROR = f"switch.{PREFIX}_horizontal_mirror"
SAVING = f"switch.{PREFIX}_save_every_frame"
REBOOT = f"button.{PREFIX}_restart"
SENSOR_RESET = f"button.{PREFIX}_reset_sensor"

type Simulate = Callable[..., Any]


def state(hass: HomeAssistant, entity_id: str) -> str | None:
    current = hass.states.get(entity_id)
    return None if current is None else current.state


@pytest.fixture
async def simulate(hass: HomeAssistant, hub_entry: MockConfigEntry) -> AsyncGenerator[Simulate]:
    """Set the hub up and start simulated cameras (small frames, no pacing) against it."""
    cameras: list[SimulatedCamera] = []

    async def start(**options: Any) -> SimulatedCamera:
        if hub_entry.state is not ConfigEntryState.LOADED:
            await hass.config_entries.async_setup(hub_entry.entry_id)
        settings: dict[str, Any] = {
            "camera_id": "cam1",
            "token": HUB_TOKEN,
            "resolution": 0,
            "fps": 5,
            "pacing": False,
            "reconnect_interval": 0.2,
            **options,
        }
        camera = SimulatedCamera("127.0.0.1", hub_entry.data[CONF_STREAM_PORT], **settings)
        cameras.append(camera)
        camera.start()
        await camera.wait_connected()
        # Registered, and its first health (which reports the resolution) has arrived.
        await wait_for(
            lambda: state(hass, RESOLUTION) not in (None, STATE_UNAVAILABLE, STATE_UNKNOWN)
        )
        return camera

    yield start
    for camera in cameras:
        await camera.stop()


async def call(hass: HomeAssistant, domain: str, service: str, entity_id: str, **data: Any) -> None:
    await hass.services.async_call(
        domain, service, {ATTR_ENTITY_ID: entity_id, **data}, blocking=True
    )


@dataclass(frozen=True, kw_only=True)
class Control:
    """A control, how it is changed, what the camera must receive and apply, the state after."""

    entity_id: str
    service: tuple[str, str, dict[str, Any]]
    command: tuple[str, str]
    state: str
    applied: Callable[[SimulatedCamera], bool]


CONTROLS = [
    Control(
        entity_id=RESOLUTION,
        service=(SELECT_DOMAIN, SERVICE_SELECT_OPTION, {ATTR_OPTION: "qvga"}),
        command=("resolution", "3"),
        state="qvga",
        applied=lambda camera: camera.resolution.name == "QVGA",
    ),
    Control(
        entity_id=MODE,
        service=(SELECT_DOMAIN, SERVICE_SELECT_OPTION, {ATTR_OPTION: "speed"}),
        command=("mode", "speed"),
        state="speed",
        applied=lambda camera: camera.mode is Mode.SPEED,
    ),
    Control(
        entity_id=QUALITY,
        service=(NUMBER_DOMAIN, SERVICE_SET_VALUE, {ATTR_VALUE: 40}),
        command=("quality", "40"),
        state="40",
        applied=lambda camera: camera.quality == 40,
    ),
    Control(
        entity_id=FPS,
        service=(NUMBER_DOMAIN, SERVICE_SET_VALUE, {ATTR_VALUE: 3}),
        command=("fps", "3"),
        state="3",
        applied=lambda camera: camera.fps == 3,
    ),
    Control(
        entity_id=f"number.{PREFIX}_brightness",
        service=(NUMBER_DOMAIN, SERVICE_SET_VALUE, {ATTR_VALUE: -2}),
        command=("brightness", "-2"),
        state="-2",
        applied=lambda camera: camera.settings["brightness"] == -2,
    ),
    Control(
        entity_id=f"number.{PREFIX}_contrast",
        service=(NUMBER_DOMAIN, SERVICE_SET_VALUE, {ATTR_VALUE: 1}),
        command=("contrast", "1"),
        state="1",
        applied=lambda camera: camera.settings["contrast"] == 1,
    ),
    Control(
        entity_id=MIRROR,
        service=(SWITCH_DOMAIN, SERVICE_TURN_ON, {}),
        command=("hmirror", "1"),
        state="on",
        applied=lambda camera: camera.settings["hmirror"] is True,
    ),
    Control(
        entity_id=f"switch.{PREFIX}_vertical_flip",
        service=(SWITCH_DOMAIN, SERVICE_TURN_ON, {}),
        command=("vflip", "1"),
        state="on",
        applied=lambda camera: camera.settings["vflip"] is True,
    ),
    Control(
        entity_id=f"switch.{PREFIX}_automatic_exposure",
        service=(SWITCH_DOMAIN, SERVICE_TURN_OFF, {}),
        command=("exposure", "0"),
        state="off",
        applied=lambda camera: camera.settings["exposure"] is False,
    ),
    Control(
        entity_id=f"switch.{PREFIX}_automatic_gain",
        service=(SWITCH_DOMAIN, SERVICE_TURN_OFF, {}),
        command=("gain", "0"),
        state="off",
        applied=lambda camera: camera.settings["gain"] is False,
    ),
    Control(
        entity_id=f"switch.{PREFIX}_automatic_white_balance",
        service=(SWITCH_DOMAIN, SERVICE_TURN_OFF, {}),
        command=("whitebalance", "0"),
        state="off",
        applied=lambda camera: camera.settings["whitebalance"] is False,
    ),
]


@pytest.mark.parametrize("control", CONTROLS, ids=[control.command[0] for control in CONTROLS])
async def test_control_sends_its_command_and_shows_the_value(
    hass: HomeAssistant, hub_entry: MockConfigEntry, simulate: Simulate, control: Control
) -> None:
    camera = await simulate()
    before = len(camera.commands_received)
    domain, name, data = control.service
    await call(hass, domain, name, control.entity_id, **data)
    assert camera.commands_received[before:] == [control.command]
    assert control.applied(camera)
    assert state(hass, control.entity_id) == control.state
    assert hub_entry.runtime_data.settings.chosen("cam1") == dict([control.command])


async def test_buttons_reboot_and_refresh_telemetry(
    hass: HomeAssistant, simulate: Simulate
) -> None:
    camera = await simulate()
    health_messages = sum(m["type"] == "health" for m in camera.messages_sent)
    await call(hass, BUTTON_DOMAIN, SERVICE_PRESS, f"button.{PREFIX}_refresh_telemetry")
    assert camera.commands_received[-1] == ("stats", "")
    assert sum(m["type"] == "health" for m in camera.messages_sent) == health_messages + 1

    await call(hass, BUTTON_DOMAIN, SERVICE_PRESS, REBOOT)
    assert camera.commands_received[-1] == ("reboot", "")
    await camera.wait_for(lambda cam: cam.reboots == 1 and cam.connected)
    registry = er.async_get(hass)
    reboot = registry.async_get(REBOOT)
    assert reboot is not None
    assert reboot.entity_category is EntityCategory.CONFIG
    assert reboot.original_device_class == "restart"


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_refused_command_raises_translated_error_and_keeps_the_state(
    hass: HomeAssistant, simulate: Simulate
) -> None:
    # A firmware that names itself is offered sensor_reset; this one (as the stock firmware)
    # does not know it and answers with status "error".
    camera = await simulate(firmware="2.1-rebuilt")
    with pytest.raises(HomeAssistantError) as refused:
        await call(hass, BUTTON_DOMAIN, SERVICE_PRESS, SENSOR_RESET)
    assert refused.value.translation_key == "command_failed"
    assert refused.value.translation_placeholders["response"] == "Unknown command: sensor_reset"
    assert str(refused.value) == (
        "The camera cam1 refused the sensor_reset command: Unknown command: sensor_reset"
    )
    assert camera.commands_received[-1] == ("sensor_reset", "")


async def test_failed_changes_do_not_pretend(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    """A refusal, a timeout and a disconnect each raise a translated error; the state stays."""
    await hass.config_entries.async_setup(hub_entry.entry_id)
    camera: CameraClient = await connect_camera()
    await wait_for(lambda: state(hass, QUALITY) == STATE_UNKNOWN)

    refusing = asyncio.create_task(answer(camera, "error"))
    with pytest.raises(HomeAssistantError) as refused:
        await call(hass, NUMBER_DOMAIN, SERVICE_SET_VALUE, QUALITY, value=30)
    await refusing
    assert refused.value.translation_key == "command_failed"
    assert state(hass, QUALITY) == STATE_UNKNOWN
    hub = hub_entry.runtime_data
    assert hub.settings.chosen("cam1") == {}

    shorten_command_timeout(hub)
    with pytest.raises(HomeAssistantError) as timed_out:
        await call(hass, SWITCH_DOMAIN, SERVICE_TURN_ON, MIRROR)
    assert timed_out.value.translation_key == "command_timeout"
    assert state(hass, MIRROR) == STATE_UNKNOWN

    async def drop_after_command() -> None:
        await camera.ws.receive_json(timeout=5)
        await camera.close()

    dropping = asyncio.create_task(drop_after_command())
    with pytest.raises(HomeAssistantError) as dropped:
        await call(hass, SELECT_DOMAIN, SERVICE_SELECT_OPTION, RESOLUTION, option="vga")
    await dropping
    assert dropped.value.translation_key == "command_timeout"
    await wait_for(lambda: state(hass, RESOLUTION) == STATE_UNAVAILABLE)
    assert hub.settings.chosen("cam1") == {}


async def test_reported_values_correct_the_controls(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    """info (mode, fps) and health (resolution, quality) win over the value set before them."""
    await hass.config_entries.async_setup(hub_entry.entry_id)
    camera: CameraClient = await connect_camera()
    await wait_for(lambda: state(hass, RESOLUTION) == STATE_UNKNOWN)
    await camera.send_json({"type": "info", "mode": "Velocidad", "fps": 7})
    await wait_for(lambda: state(hass, FPS) == "7")
    assert state(hass, MODE) == "speed"
    await camera.send_json({"type": "health", "resolution": "VGA (640x480)", "quality": 30})
    await wait_for(lambda: state(hass, RESOLUTION) == "vga")
    assert state(hass, QUALITY) == "30"

    accepting = asyncio.create_task(answer(camera))
    await call(hass, NUMBER_DOMAIN, SERVICE_SET_VALUE, QUALITY, value=20)
    await accepting
    assert state(hass, QUALITY) == "20"
    # The camera says otherwise (for example another client changed it): it is believed.
    await camera.send_json({"type": "health", "resolution": "Custom", "quality": 25})
    await wait_for(lambda: state(hass, QUALITY) == "25")
    assert state(hass, RESOLUTION) == "vga"  # "Custom" says nothing about the frame size
    # An unknown mode name changes nothing; the chosen value is still what is re-applied.
    await camera.send_json({"type": "info", "mode": "Turbo", "fps": 7})
    await asyncio.sleep(0.1)
    assert state(hass, MODE) == "speed"
    assert hub_entry.runtime_data.settings.chosen("cam1") == {"quality": "20"}


async def test_settings_are_reapplied_after_a_reboot(
    hass: HomeAssistant, simulate: Simulate
) -> None:
    camera = await simulate()
    await call(hass, NUMBER_DOMAIN, SERVICE_SET_VALUE, QUALITY, value=20)
    await call(hass, SWITCH_DOMAIN, SERVICE_TURN_ON, MIRROR)
    await call(hass, SELECT_DOMAIN, SERVICE_SELECT_OPTION, RESOLUTION, option="qcif")
    await call(hass, BUTTON_DOMAIN, SERVICE_PRESS, REBOOT)
    # The camera boots with its defaults (QQVGA, quality 12, no mirror) and gets them back.
    await camera.wait_for(
        lambda cam: (
            cam.reboots == 1
            and cam.connected
            and cam.quality == 20
            and cam.settings["hmirror"] is True
            and cam.resolution.name == "QCIF"
        )
    )
    # The boot health (QQVGA, 12) may arrive before the acknowledgements; the last word wins.
    await wait_for(
        lambda: (
            state(hass, RESOLUTION) == "qcif"
            and state(hass, QUALITY) == "20"
            and state(hass, MIRROR) == "on"
        )
    )
    assert camera.commands_received.count(("quality", "20")) == 2


async def test_reapplying_goes_on_after_a_refusal_and_a_silence(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    await hass.config_entries.async_setup(hub_entry.entry_id)
    camera: CameraClient = await connect_camera()
    await wait_for(lambda: state(hass, QUALITY) == STATE_UNKNOWN)
    for entity_id, domain, service, data in (
        (QUALITY, NUMBER_DOMAIN, SERVICE_SET_VALUE, {ATTR_VALUE: 20}),
        (MIRROR, SWITCH_DOMAIN, SERVICE_TURN_ON, {}),
        (FPS, NUMBER_DOMAIN, SERVICE_SET_VALUE, {ATTR_VALUE: 5}),
    ):
        accepting = asyncio.create_task(answer(camera))
        await call(hass, domain, service, entity_id, **data)
        await accepting
    hub = hub_entry.runtime_data
    shorten_command_timeout(hub)
    await camera.close()
    await wait_for(lambda: state(hass, QUALITY) == STATE_UNAVAILABLE)
    # Identified in `register` (not the URL): commands are sent and answered, not queued.
    camera = await connect_camera("", register=False)
    await camera.register(id="cam1", token=HUB_TOKEN)
    refused = await answer(camera, "error")
    unanswered = await camera.ws.receive_json(timeout=5)
    accepted = await answer(camera)
    assert [refused["cmd"], unanswered["cmd"], accepted["cmd"]] == ["quality", "hmirror", "fps"]
    # The firmware reports none of these: the entities keep showing the values chosen.
    await wait_for(lambda: state(hass, QUALITY) == "20")
    assert state(hass, MIRROR) == "on"
    assert state(hass, FPS) == "5"


async def test_risky_resolutions_warn_once(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await hass.config_entries.async_setup(hub_entry.entry_id)
    camera: CameraClient = await connect_camera()
    await wait_for(lambda: state(hass, RESOLUTION) == STATE_UNKNOWN)
    options = hass.states.get(RESOLUTION).attributes["options"]  # type: ignore[union-attr]
    assert options[0] == "qqvga"
    assert options[-2:] == ["fhd", "qxga"]

    for option in ("qxga", "xga", "qxga", "fhd"):
        accepting = asyncio.create_task(answer(camera))
        await call(hass, SELECT_DOMAIN, SERVICE_SELECT_OPTION, RESOLUTION, option=option)
        await accepting
    assert state(hass, RESOLUTION) == "fhd"
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert (
        warnings.count(
            "Camera cam1: QXGA (2048x1536) is risky on the OV3660: it can hang the sensor"
        )
        == 1
    )
    assert (
        warnings.count(
            "Camera cam1: FHD (1920x1080) is risky on the OV3660: its frames can be corrupt"
        )
        == 1
    )


async def test_save_every_frame_writes_files_and_counts_them(
    hass: HomeAssistant, hub_entry: MockConfigEntry, simulate: Simulate, tmp_path: Path
) -> None:
    camera = await simulate(fps=10)
    saved = tmp_path / "saved"
    assert state(hass, SAVING) == "off"
    assert state(hass, f"sensor.{PREFIX}_images_saved") == "0"
    await call(hass, NUMBER_DOMAIN, SERVICE_SET_VALUE, SAVING_RATE, value=0.5)
    assert hub_entry.runtime_data.saver.max_rate("cam1") == 0.5
    await call(hass, NUMBER_DOMAIN, SERVICE_SET_VALUE, SAVING_RATE, value=0)
    await call(hass, SWITCH_DOMAIN, SERVICE_TURN_ON, SAVING)
    assert state(hass, SAVING) == "on"

    def files() -> list[Path]:
        return sorted(saved.rglob("*.jpg"))

    await wait_for(lambda: len(files()) >= 3, timeout=10)
    assert files()[0].relative_to(saved).parts[0] == "cam1"
    assert files()[0].read_bytes().startswith(b"\xff\xd8")
    # The count moves with every saved frame: written at most once a minute, the last one lands.
    # Twice: the hub's 5 s update signals the entity, whose trailing write is then due in a minute.
    for _ in range(2):
        async_fire_time_changed(
            hass, dt_util.utcnow() + timedelta(seconds=STATISTICS_WRITE_INTERVAL)
        )
        await hass.async_block_till_done()
    await wait_for(lambda: state(hass, f"sensor.{PREFIX}_images_saved") not in ("0", None))
    # A time with every saved frame: not an entity unless the user enables it.
    assert state(hass, f"sensor.{PREFIX}_last_saved_image") is None
    assert hub_entry.runtime_data.saver.counters("cam1").last_saved_at is not None
    assert state(hass, f"sensor.{PREFIX}_frames_not_saved") == "0"

    await call(hass, SWITCH_DOMAIN, SERVICE_TURN_OFF, SAVING)
    assert not hub_entry.runtime_data.saver.is_enabled("cam1")
    # Saving is the hub's: its switch and counters stay usable while the camera is away.
    await camera.stop()
    await wait_for(lambda: state(hass, MIRROR) == STATE_UNAVAILABLE)
    assert state(hass, SAVING) == "off"
    assert state(hass, f"sensor.{PREFIX}_images_saved") not in (STATE_UNAVAILABLE, "0")


async def test_saving_entities_follow_changes_from_elsewhere_at_once(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    simulate: Simulate,
    hass_ws_client: WebSocketGenerator,
) -> None:
    camera = await simulate()
    await camera.stop()  # also while the camera is away: no camera update will come
    await wait_for(lambda: state(hass, MIRROR) == STATE_UNAVAILABLE)
    assert state(hass, SAVING) == "off"
    client = await hass_ws_client(hass)
    for enabled, expected in ((True, "on"), (False, "off")):
        await client.send_json_auto_id(
            {"type": "esp32_camera/saver", "camera_id": "cam1", "enabled": enabled}
        )
        assert (await client.receive_json())["success"]
        assert state(hass, SAVING) == expected  # written as the panel's command is handled
    hub_entry.runtime_data.saver.async_set_max_rate("cam1", 2)
    assert state(hass, SAVING_RATE) == "2"


async def test_saving_refused_when_the_saver_cannot_run(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    await hass.config_entries.async_setup(hub_entry.entry_id)
    await connect_camera()
    await wait_for(lambda: state(hass, SAVING) == "off")
    hub_entry.runtime_data.saver.error = "the save directory is inside www"
    with pytest.raises(HomeAssistantError) as refused:
        await call(hass, SWITCH_DOMAIN, SERVICE_TURN_ON, SAVING)
    assert refused.value.translation_key == "saving_unavailable"
    assert state(hass, SAVING) == "off"


async def test_categories_and_noisy_entities_disabled_by_default(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    await hass.config_entries.async_setup(hub_entry.entry_id)
    await connect_camera()
    await wait_for(lambda: state(hass, SAVING) is not None)
    registry = er.async_get(hass)
    disabled = {
        entry.entity_id
        for entry in er.async_entries_for_config_entry(registry, hub_entry.entry_id)
        if entry.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    }
    assert {
        f"sensor.{PREFIX}_images_saved_today",
        f"sensor.{PREFIX}_save_errors",
        f"sensor.{PREFIX}_last_frame",
        f"sensor.{PREFIX}_frames_received",
        f"sensor.{PREFIX}_last_frame_size",
        f"sensor.{PREFIX}_last_saved_image",
    } <= disabled
    assert registry.async_get(SENSOR_RESET) is None  # not offered to the stock firmware
    assert not {RESOLUTION, QUALITY, MIRROR, SAVING, REBOOT} & disabled
    for entity_id in (RESOLUTION, MODE, QUALITY, FPS, MIRROR, SAVING_RATE):
        entry = registry.async_get(entity_id)
        assert entry is not None
        assert entry.entity_category is EntityCategory.CONFIG, entity_id
    saving = registry.async_get(SAVING)
    assert saving is not None
    assert saving.entity_category is None
    assert hass.states.get(QUALITY).attributes["min"] == 5  # type: ignore[union-attr]
    assert hass.states.get(QUALITY).attributes["max"] == 63  # type: ignore[union-attr]
