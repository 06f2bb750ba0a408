"""The frontend's files: versioned serving, and complete translations."""

from __future__ import annotations

import json
from pathlib import Path
import re
import shutil

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.esp32_camera.views import panel
from custom_components.esp32_camera.views.panel import (
    DATA_PANEL,
    FRONTEND_DIR,
    _versioned_url,
    frontend_files,
)

TRANSLATIONS = FRONTEND_DIR / "translations"


def test_english_and_spanish_have_the_same_keys_and_placeholders() -> None:
    english = json.loads((TRANSLATIONS / "en.json").read_text(encoding="utf-8"))
    spanish = json.loads((TRANSLATIONS / "es.json").read_text(encoding="utf-8"))
    assert english.keys() == spanish.keys()
    for key, text in english.items():
        assert set(re.findall(r"\{(\w+)\}", text)) == set(re.findall(r"\{(\w+)\}", spanish[key])), (
            key
        )
        assert spanish[key].strip(), key


def test_every_key_the_modules_use_is_translated() -> None:
    """Literal keys in t("...") calls and setTexts({...}) exist in English (Spanish has the same)."""
    english = json.loads((TRANSLATIONS / "en.json").read_text(encoding="utf-8"))
    used: set[str] = set()
    labelled: set[str] = set()
    for module in FRONTEND_DIR.glob("*.js"):
        text = module.read_text(encoding="utf-8")
        used |= set(re.findall(r'\bt\("([a-z_.]+)"', text))
        for texts in re.findall(r"setTexts\(refs, \{(.*?)\}, t\)", text, re.DOTALL):
            labelled |= set(re.findall(r':\s*"([a-z_.]+)"', texts))
    assert used, "no t() calls found"
    assert {"panel.stats", "control.reboot"} <= labelled  # the setTexts lists are read
    assert (used | labelled) - english.keys() == set()


def test_the_hash_covers_every_module_and_translation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "frontend"
    shutil.copytree(FRONTEND_DIR, copy, ignore=shutil.ignore_patterns("node_modules"))
    monkeypatch.setattr(panel, "FRONTEND_DIR", copy)
    served = {path.relative_to(copy).as_posix() for path in frontend_files()}
    assert {"esp32-camera-panel.js", "store.js", "translations/es.json"} <= served
    urls = {_versioned_url()}
    for name in ("store.js", "translations/es.json"):
        (copy / name).write_text((copy / name).read_text(encoding="utf-8") + "\n", "utf-8")
        urls.add(_versioned_url())
    assert len(urls) == 3


async def test_modules_and_translations_are_served_under_the_versioned_folder(
    hass: HomeAssistant, hub_entry: MockConfigEntry, hass_client: ClientSessionGenerator
) -> None:
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    static_url = hass.data[DATA_PANEL].static_url
    assert static_url is not None
    client = await hass_client()
    for path in frontend_files():
        name = path.relative_to(FRONTEND_DIR).as_posix()
        response = await client.get(f"{static_url}/{name}")
        assert response.status == 200, name
        assert await response.read() == path.read_bytes()
