"""Event entity: a camera's motion started and ended, with the zone it started in."""

from __future__ import annotations

from typing import override

from homeassistant.components.event import (
    EventDeviceClass,
    EventEntity,
    EventEntityDescription,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import signals
from .entity import Esp32CameraDescribedEntity, async_add_described_entities
from .hub import Esp32CameraConfigEntry
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


class Esp32CameraMotionEvent(Esp32CameraDescribedEntity[EventEntityDescription], EventEntity):
    """Fires `motion_started` (with its zone) and `motion_ended`."""

    entity_description: EventEntityDescription

    @override
    async def async_added_to_hass(self) -> None:
        """Follow the camera's motion starts and ends."""
        await super().async_added_to_hass()
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass,
                signals.motion_event(self.hub.entry.entry_id, self.camera.camera_id),
                self._async_motion,
            )
        )

    @callback
    def _async_motion(self, event: MotionEvent) -> None:
        self._trigger_event(f"motion_{event.type}", {ATTR_ZONE: event.zone})
        self.async_write_ha_state()
