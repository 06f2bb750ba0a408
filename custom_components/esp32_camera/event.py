"""Event entity: a camera's motion started and ended, with the zone it started in."""

from __future__ import annotations

from typing import override

from homeassistant.components.event import (
    EventDeviceClass,
    EventEntity,
    EventEntityDescription,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .entity import Esp32CameraMotionEntity, async_add_described_entities
from .hub.hub import Esp32CameraConfigEntry
from .motion import MotionEvent

PARALLEL_UPDATES = 0

MOTION_STARTED, MOTION_ENDED = "motion_started", "motion_ended"
ATTR_ZONE = "zone"

MOTION = EventEntityDescription(
    key="motion",
    translation_key="motion",
    device_class=EventDeviceClass.MOTION,
    event_types=[MOTION_STARTED, MOTION_ENDED],
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: Esp32CameraConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a motion event entity for every admitted camera."""
    async_add_described_entities(hass, entry, async_add_entities, Esp32CameraMotionEvent, (MOTION,))


class Esp32CameraMotionEvent(Esp32CameraMotionEntity[EventEntityDescription], EventEntity):
    """Fires `motion_started` (with its zone) and `motion_ended`."""

    entity_description: EventEntityDescription

    @callback
    @override
    def _async_motion(self, event: MotionEvent) -> None:
        """Fire the event."""
        self._trigger_event(f"motion_{event.type}", {ATTR_ZONE: event.zone})
        self.async_write_ha_state()
