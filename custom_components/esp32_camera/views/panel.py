"""The sidebar panel "ESP32 Cameras" and the Lovelace card: native ES modules, no build step.

The frontend folder (modules and translations/*.json) is served under a path carrying a hash of
every file in it, so the entry module's relative imports and translation fetches are versioned
too: a browser never mixes a stale module with a new one after an update. The panel and the
card's script are registered while at least one hub entry is loaded. The sidebar title is in Home
Assistant's language (the frontend's own `panel.title`), registered again when it changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import hashlib
import json
from pathlib import Path
import re

from homeassistant.components import frontend, panel_custom
from homeassistant.components.http.server import StaticPathConfig
from homeassistant.const import EVENT_CORE_CONFIG_UPDATE
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant
from homeassistant.util.hass_dict import HassKey

from ..const import DOMAIN

PANEL_URL_PATH = "esp32-cameras"
PANEL_TITLE = "ESP32 Cameras"  # when no translation of the language has one
PANEL_TITLE_KEY = "panel.title"  # in frontend/translations/<language>.json
LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")
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
    titles: dict[str, str] = field(default_factory=dict)  # sidebar title by language, read once
    stop_language: CALLBACK_TYPE | None = None  # stops following Home Assistant's language


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


def panel_title(language: str) -> str:
    """Return the sidebar title in `language` (executor: reads the frontend's translations).

    `es-419` falls back to `es`, a language without a translation to English.
    """
    candidates = [language, language.partition("-")[0]] if LANGUAGE.fullmatch(language) else []
    for candidate in (*candidates, "en"):
        try:
            strings = json.loads((FRONTEND_DIR / "translations" / f"{candidate}.json").read_bytes())
        except FileNotFoundError:
            continue
        if isinstance(title := strings.get(PANEL_TITLE_KEY), str) and title:
            return title
    return PANEL_TITLE


async def _async_title(hass: HomeAssistant, state: PanelState) -> str:
    """Return the sidebar title in Home Assistant's language (each language read once)."""
    language = hass.config.language
    if language not in state.titles:
        state.titles[language] = await hass.async_add_executor_job(panel_title, language)
    return state.titles[language]


async def _async_show_panel(
    hass: HomeAssistant, state: PanelState, module_url: str, *, replace: bool = False
) -> None:
    """Register the sidebar panel with its title in Home Assistant's current language.

    `replace`: Home Assistant offers no update of a custom panel, so it is removed and
    registered anew (same URL, open pages keep working), once the new title is known.
    """
    title = await _async_title(hass, state)
    if replace:
        frontend.async_remove_panel(hass, PANEL_URL_PATH, warn_if_unknown=False)
    await panel_custom.async_register_panel(
        hass,
        frontend_url_path=PANEL_URL_PATH,
        webcomponent_name=PANEL_ELEMENT,
        sidebar_title=title,
        sidebar_icon=PANEL_ICON,
        module_url=module_url,
        require_admin=False,  # viewing follows HA's rules; changing a camera needs an admin
    )


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
    module_url = state.module_url = f"{state.static_url}/{ENTRY_MODULE}"
    await _async_show_panel(hass, state, module_url)
    frontend.add_extra_js_url(hass, module_url)

    async def async_language_changed(event: Event) -> None:
        if "language" in event.data and state.module_url == module_url:  # still registered
            await _async_show_panel(hass, state, module_url, replace=True)

    state.stop_language = hass.bus.async_listen(EVENT_CORE_CONFIG_UPDATE, async_language_changed)


def async_unregister_panel(hass: HomeAssistant, entry_id: str) -> None:
    """Remove the panel and the card's script when the last hub entry unloads."""
    state = hass.data.get(DATA_PANEL)
    if state is None or entry_id not in state.entries:
        return
    state.entries.discard(entry_id)
    if state.entries or state.module_url is None:
        return
    if state.stop_language is not None:
        state.stop_language()
        state.stop_language = None
    frontend.async_remove_panel(hass, PANEL_URL_PATH)
    frontend.remove_extra_js_url(hass, state.module_url)
    state.module_url = None
