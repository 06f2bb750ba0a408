"""The sidebar title in Home Assistant's language, following a change of language."""

from __future__ import annotations

from homeassistant.components.frontend import DATA_PANELS
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.esp32_camera.views.panel import PANEL_URL_PATH, panel_title


def sidebar_title(hass: HomeAssistant) -> str | None:
    return hass.data[DATA_PANELS][PANEL_URL_PATH].sidebar_title


async def test_the_sidebar_title_is_in_home_assistants_language(
    hass: HomeAssistant, hub_entry: MockConfigEntry
) -> None:
    await hass.config.async_update(language="es")
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    await hass.async_block_till_done()
    assert sidebar_title(hass) == "Cámaras ESP32"
    # Changed in Settings → System → General: the sidebar follows, no restart.
    await hass.config.async_update(language="en")
    await hass.async_block_till_done()
    assert sidebar_title(hass) == "ESP32 Cameras"
    await hass.config.async_update(language="es")
    await hass.async_block_till_done()
    assert sidebar_title(hass) == "Cámaras ESP32"
    # Unloaded: no panel, and a change of language brings none back.
    assert await hass.config_entries.async_unload(hub_entry.entry_id)
    await hass.config.async_update(language="en")
    await hass.async_block_till_done()
    assert PANEL_URL_PATH not in hass.data[DATA_PANELS]


def test_a_language_without_a_translation_falls_back() -> None:
    """A regional variant takes its language's title; others and odd values take English."""
    assert panel_title("es-419") == "Cámaras ESP32"
    assert panel_title("de") == "ESP32 Cameras"
    assert panel_title("../../../configuration") == "ESP32 Cameras"
