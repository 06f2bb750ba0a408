"""The sidebar panel "ESP32 Cameras" and the Lovelace card, served from one ES module.

The module's URL carries a hash of its content, so a browser never runs a stale copy after an
update. The panel and the card's script are registered while at least one hub entry is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import hashlib
from pathlib import Path

from homeassistant.components import frontend, panel_custom
from homeassistant.components.http.server import StaticPathConfig
from homeassistant.core import HomeAssistant
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN

PANEL_URL_PATH = "esp32-cameras"
PANEL_TITLE = "ESP32 Cameras"
PANEL_ICON = "mdi:cctv"
PANEL_ELEMENT = "esp32-camera-panel"
STATIC_URL = f"/{DOMAIN}_static"
FRONTEND_FILE = Path(__file__).parent / "frontend" / "esp32-camera-panel.js"


@dataclass(slots=True)
class PanelState:
    """Which hub entries keep the panel registered, and the module's versioned URL."""

    entries: set[str] = field(default_factory=set)
    static_registered: bool = False
    module_url: str | None = None


DATA_PANEL: HassKey[PanelState] = HassKey(f"{DOMAIN}_panel")


def _module_url() -> str:
    """Return the module's URL with a hash of its content (executor: reads the file)."""
    digest = hashlib.sha256(FRONTEND_FILE.read_bytes()).hexdigest()[:16]
    return f"{STATIC_URL}/{FRONTEND_FILE.name}?v={digest}"


async def async_register_panel(hass: HomeAssistant, entry_id: str) -> None:
    """Register the panel and the card's script when the first hub entry loads."""
    state = hass.data.setdefault(DATA_PANEL, PanelState())
    state.entries.add(entry_id)
    if len(state.entries) > 1:
        return
    if not state.static_registered:  # aiohttp cannot remove routes: once per run
        await hass.http.async_register_static_paths(
            [StaticPathConfig(STATIC_URL, str(FRONTEND_FILE.parent), cache_headers=True)]
        )
        state.static_registered = True
    state.module_url = await hass.async_add_executor_job(_module_url)
    await panel_custom.async_register_panel(
        hass,
        frontend_url_path=PANEL_URL_PATH,
        webcomponent_name=PANEL_ELEMENT,
        sidebar_title=PANEL_TITLE,
        sidebar_icon=PANEL_ICON,
        module_url=state.module_url,
        require_admin=False,  # viewing follows HA's rules; changing a camera needs an admin
    )
    frontend.add_extra_js_url(hass, state.module_url)


def async_unregister_panel(hass: HomeAssistant, entry_id: str) -> None:
    """Remove the panel and the card's script when the last hub entry unloads."""
    state = hass.data.get(DATA_PANEL)
    if state is None or entry_id not in state.entries:
        return
    state.entries.discard(entry_id)
    if state.entries or state.module_url is None:
        return
    frontend.async_remove_panel(hass, PANEL_URL_PATH)
    frontend.remove_extra_js_url(hass, state.module_url)
    state.module_url = None
