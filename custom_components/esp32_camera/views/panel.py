"""The sidebar panel "ESP32 Cameras" and the Lovelace card: native ES modules, no build step.

The frontend folder (modules and translations/*.json) is served under a path carrying a hash of
every file in it, so the entry module's relative imports and translation fetches are versioned
too: a browser never mixes a stale module with a new one after an update. The panel and the
card's script are registered while at least one hub entry is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import hashlib
from pathlib import Path

from homeassistant.components import frontend, panel_custom
from homeassistant.components.http.server import StaticPathConfig
from homeassistant.core import HomeAssistant
from homeassistant.util.hass_dict import HassKey

from ..const import DOMAIN

PANEL_URL_PATH = "esp32-cameras"
PANEL_TITLE = "ESP32 Cameras"
PANEL_ICON = "mdi:cctv"
PANEL_ELEMENT = "esp32-camera-panel"
STATIC_URL = f"/{DOMAIN}_static"
FRONTEND_DIR = Path(__file__).parent.parent / "frontend"
ENTRY_MODULE = "esp32-camera-panel.js"
# What the browser loads: the modules and their translations (not the lint configuration).
SERVED_PATTERNS = ("*.js", "translations/*.json")


@dataclass(slots=True)
class PanelState:
    """Which hub entries keep the panel registered, and the module's versioned URL."""

    entries: set[str] = field(default_factory=set)
    static_url: str | None = None  # the versioned folder, registered once per run
    module_url: str | None = None


DATA_PANEL: HassKey[PanelState] = HassKey(f"{DOMAIN}_panel")


def frontend_files() -> list[Path]:
    """Return every file the browser loads from the frontend folder, in a stable order."""
    return sorted(path for pattern in SERVED_PATTERNS for path in FRONTEND_DIR.glob(pattern))


def _versioned_url() -> str:
    """Return the frontend folder's URL with a hash of every served file (executor: reads them)."""
    digest = hashlib.sha256()
    for path in frontend_files():
        digest.update(path.relative_to(FRONTEND_DIR).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return f"{STATIC_URL}/{digest.hexdigest()[:16]}"


async def async_register_panel(hass: HomeAssistant, entry_id: str) -> None:
    """Register the panel and the card's script when the first hub entry loads."""
    state = hass.data.setdefault(DATA_PANEL, PanelState())
    state.entries.add(entry_id)
    if len(state.entries) > 1:
        return
    if state.static_url is None:  # aiohttp cannot remove routes: once per run
        static_url = await hass.async_add_executor_job(_versioned_url)
        await hass.http.async_register_static_paths(
            [StaticPathConfig(static_url, str(FRONTEND_DIR), cache_headers=True)]
        )
        state.static_url = static_url
    state.module_url = f"{state.static_url}/{ENTRY_MODULE}"
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
