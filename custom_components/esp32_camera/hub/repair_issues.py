"""Repair issues of the integration: none is fixable from the repairs page, each says what to do.

Issue ids carry the hub entry's id, so each hub raises and deletes its own.
"""

from __future__ import annotations

from collections.abc import Mapping

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from ..const import DOMAIN


@callback
def async_raise_issue(
    hass: HomeAssistant,
    issue_id: str,
    translation_key: str,
    placeholders: Mapping[str, str],
    *,
    severity: ir.IssueSeverity = ir.IssueSeverity.WARNING,
) -> None:
    """Create (or replace) a repair issue of this integration."""
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=False,
        severity=severity,
        translation_key=translation_key,
        translation_placeholders=dict(placeholders),
    )


@callback
def async_delete_issue(hass: HomeAssistant, issue_id: str) -> None:
    """Delete a repair issue of this integration (nothing happens when there is none)."""
    ir.async_delete_issue(hass, DOMAIN, issue_id)
