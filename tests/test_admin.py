"""What changes a camera, or tells where cameras and files are, is for administrators."""

from __future__ import annotations

import json
from typing import Any

from homeassistant.auth.models import User
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import Unauthorized
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.esp32_camera.const import DOMAIN

from .test_services import ENTITY, setup_with_camera


async def test_send_command_is_an_admin_action(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    simulate: Any,
    hass_read_only_user: User,
    hass_admin_user: User,
) -> None:
    """A non-admin user's reboot never reaches the camera; an admin's and an automation's do."""
    camera = await setup_with_camera(hass, hub_entry, lambda: simulate(mode="speed", fps=5))
    data = {"entity_id": ENTITY, "command": "reboot"}
    with pytest.raises(Unauthorized):
        await hass.services.async_call(
            DOMAIN,
            "send_command",
            data,
            blocking=True,
            context=Context(user_id=hass_read_only_user.id),
        )
    assert camera.commands_received == []
    for context in (Context(user_id=hass_admin_user.id), Context()):  # Context(): an automation
        await hass.services.async_call(
            DOMAIN, "send_command", {**data, "command": "stats"}, blocking=True, context=context
        )
    assert camera.commands_received == [("stats", ""), ("stats", "")]


async def test_statistics_show_addresses_and_paths_to_admins_only(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    simulate: Any,
    hass_client: ClientSessionGenerator,
    hass_read_only_access_token: str,
) -> None:
    await setup_with_camera(hass, hub_entry, lambda: simulate(mode="speed", fps=5))
    url = f"/api/{DOMAIN}/stats"
    admin = await (await (await hass_client()).get(url)).json()
    (hub,) = admin["hubs"]
    assert hub["cameras"]["cam1"]["address"] == "127.0.0.1"
    assert hub["saver"]["directory"] == hub_entry.runtime_data.save_directory

    response = await (await hass_client(hass_read_only_access_token)).get(url)
    assert response.status == 200
    user = await response.json()
    (hub,) = user["hubs"]
    assert hub["cameras"]["cam1"]["connected"] is True  # statistics stay
    assert hub["cameras"]["cam1"]["stats"]["frames_received"] >= 0
    text = json.dumps(user)
    assert "127.0.0.1" not in text
    assert hub_entry.runtime_data.save_directory not in text
