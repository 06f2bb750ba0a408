"""Unknown devices flooding the hub: flows and repair issues stay within their caps."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.esp32_camera.const import CONF_MAX_PENDING_CAMERAS, DOMAIN
from custom_components.esp32_camera.hub.admission import AUTH_FAILURES_FOR_ISSUE, AUTH_ISSUES
from tests.helpers import wait_for

CAP = 3


async def test_pending_flood_makes_one_repair_issue_and_capped_flows(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    connect_camera: Any,
    hass_client: ClientSessionGenerator,
) -> None:
    hass.config_entries.async_update_entry(
        hub_entry, options={**hub_entry.options, CONF_MAX_PENDING_CAMERAS: CAP}
    )
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    refused = []
    for host in range(2, 2 + CAP + 5):  # CAP wait for approval, five more are turned away
        camera = await connect_camera("", register=False, source=f"127.0.0.{host}")
        await camera.send_json({"type": "register", "device": "camera"})
        message = await camera.ws.receive(timeout=5)
        if camera.ws.close_code is not None or message.type.name == "CLOSE":
            refused.append(camera.ws.close_code)
    assert refused == [4429] * 5
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert len(flows) == CAP
    issues = [
        issue
        for (domain, _), issue in ir.async_get(hass).issues.items()
        if domain == DOMAIN and issue.translation_key == "unknown_devices"
    ]
    assert len(issues) == 1
    assert issues[0].translation_placeholders is not None
    assert "127.0.0." in issues[0].translation_placeholders["sources"]
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, hub_entry)
    assert diagnostics["listener"]["refusals"]["too_many_pending"] == 5

    await hass.config_entries.async_unload(hub_entry.entry_id)
    assert not [key for key in ir.async_get(hass).issues if key[0] == DOMAIN]


async def test_wrong_token_issues_are_capped(
    hass: HomeAssistant, hub_entry: MockConfigEntry, connect_camera: Any
) -> None:
    """Each address failing the token makes an issue, up to a few: a flood makes no more."""
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    for host in range(2, 2 + AUTH_ISSUES + 3):
        for _ in range(AUTH_FAILURES_FOR_ISSUE):
            camera = await connect_camera("?token=wrong", register=False, source=f"127.0.1.{host}")
            await camera.send_json({"type": "register", "device": "camera"})
            await camera.ws.receive(timeout=5)
            assert camera.ws.close_code == 4401
            await camera.close()
    await wait_for(
        lambda: (
            len(
                [
                    key
                    for key, issue in ir.async_get(hass).issues.items()
                    if key[0] == DOMAIN and issue.translation_key == "authentication_failed"
                ]
            )
            == AUTH_ISSUES
        )
    )
