"""Sensors: a camera's stream statistics and health telemetry."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
import time
from typing import override

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    SIGNAL_STRENGTH_DECIBELS_MILLIWATT,
    EntityCategory,
    UnitOfDataRate,
    UnitOfInformation,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util
from homeassistant.util.signal_type import SignalType

from . import signals
from .const import DOMAIN
from .entity import Esp32CameraEntity, async_add_camera_entities
from .hub import Esp32CameraConfigEntry, Esp32CameraHub
from .listener import CameraRecord
from .saver import SaverCounters

PARALLEL_UPDATES = 0
# A last-boot time recomputed from a coarse uptime text jitters; ignore moves smaller than this.
BOOT_TIME_TOLERANCE = timedelta(seconds=30)


def _monotonic_to_datetime(moment: float | None) -> datetime | None:
    if moment is None:
        return None
    return dt_util.utcnow() - timedelta(seconds=time.monotonic() - moment)


def _last_boot(camera: CameraRecord) -> datetime | None:
    health = camera.health
    if health is None or health.uptime is None:
        return None
    return dt_util.utcnow() - health.uptime


@dataclass(frozen=True, kw_only=True)
class Esp32CameraSensorDescription(SensorEntityDescription):
    """A camera sensor and how to read it from the camera record."""

    value_fn: Callable[[CameraRecord], float | int | str | datetime | None]


SENSORS: tuple[Esp32CameraSensorDescription, ...] = (
    Esp32CameraSensorDescription(
        key="fps",
        translation_key="fps",
        native_unit_of_measurement="fps",
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=lambda camera: round(camera.stats.fps, 2),
    ),
    Esp32CameraSensorDescription(
        key="bitrate",
        translation_key="bitrate",
        device_class=SensorDeviceClass.DATA_RATE,
        native_unit_of_measurement=UnitOfDataRate.KILOBITS_PER_SECOND,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda camera: round(camera.stats.bitrate / 1000, 1),
    ),
    Esp32CameraSensorDescription(
        key="frames_received",
        translation_key="frames_received",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda camera: camera.stats.frames_received,
    ),
    Esp32CameraSensorDescription(
        key="frames_failed",
        translation_key="frames_failed",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda camera: camera.stats.frames_failed,
    ),
    Esp32CameraSensorDescription(
        key="reconnects",
        translation_key="reconnects",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda camera: camera.reconnects,
    ),
    Esp32CameraSensorDescription(
        key="last_frame_size",
        translation_key="last_frame_size",
        device_class=SensorDeviceClass.DATA_SIZE,
        native_unit_of_measurement=UnitOfInformation.BYTES,
        suggested_unit_of_measurement=UnitOfInformation.KILOBYTES,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda camera: camera.stats.last_frame_size,
    ),
    Esp32CameraSensorDescription(
        key="resolution",
        translation_key="resolution",
        value_fn=lambda camera: camera.health.resolution_text if camera.health else None,
    ),
    Esp32CameraSensorDescription(
        key="quality",
        translation_key="quality",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda camera: camera.health.quality if camera.health else None,
    ),
    Esp32CameraSensorDescription(
        key="free_heap",
        translation_key="free_heap",
        device_class=SensorDeviceClass.DATA_SIZE,
        native_unit_of_measurement=UnitOfInformation.BYTES,
        suggested_unit_of_measurement=UnitOfInformation.KILOBYTES,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda camera: camera.health.heap if camera.health else None,
    ),
    Esp32CameraSensorDescription(
        key="min_free_heap",
        translation_key="min_free_heap",
        device_class=SensorDeviceClass.DATA_SIZE,
        native_unit_of_measurement=UnitOfInformation.BYTES,
        suggested_unit_of_measurement=UnitOfInformation.KILOBYTES,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda camera: camera.health.min_heap if camera.health else None,
    ),
    Esp32CameraSensorDescription(
        key="wifi_signal",
        translation_key="wifi_signal",
        device_class=SensorDeviceClass.SIGNAL_STRENGTH,
        native_unit_of_measurement=SIGNAL_STRENGTH_DECIBELS_MILLIWATT,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda camera: camera.health.rssi if camera.health else None,
    ),
    Esp32CameraSensorDescription(
        key="last_boot",
        translation_key="last_boot",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=_last_boot,
    ),
    Esp32CameraSensorDescription(
        key="last_frame",
        translation_key="last_frame",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda camera: _monotonic_to_datetime(camera.stats.last_frame_at),
    ),
    Esp32CameraSensorDescription(
        key="address",
        translation_key="address",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda camera: camera.address,
    ),
)


@dataclass(frozen=True, kw_only=True)
class Esp32CameraHubSensorDescription(SensorEntityDescription):
    """A sensor of the hub device, read from the hub's statistics."""

    value_fn: Callable[[Esp32CameraHub], float | int | datetime | None]


HUB_SENSORS: tuple[Esp32CameraHubSensorDescription, ...] = (
    Esp32CameraHubSensorDescription(
        key="connected_cameras",
        translation_key="connected_cameras",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda hub: hub.hub_statistics()["connected_cameras"],
    ),
    Esp32CameraHubSensorDescription(
        key="total_fps",
        translation_key="total_fps",
        native_unit_of_measurement="fps",
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=lambda hub: hub.hub_statistics()["fps"],
    ),
    Esp32CameraHubSensorDescription(
        key="total_bitrate",
        translation_key="total_bitrate",
        device_class=SensorDeviceClass.DATA_RATE,
        native_unit_of_measurement=UnitOfDataRate.KILOBITS_PER_SECOND,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda hub: round(hub.hub_statistics()["bitrate"] / 1000, 1),
    ),
    Esp32CameraHubSensorDescription(
        key="listening_since",
        translation_key="listening_since",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda hub: _monotonic_to_datetime(hub.started_at),
    ),
)


@dataclass(frozen=True, kw_only=True)
class Esp32CameraSaverSensorDescription(SensorEntityDescription):
    """A continuous-saving counter of a camera."""

    value_fn: Callable[[SaverCounters], int | datetime | None]


SAVER_SENSORS: tuple[Esp32CameraSaverSensorDescription, ...] = (
    Esp32CameraSaverSensorDescription(
        key="saved_images",
        translation_key="saved_images",
        state_class=SensorStateClass.TOTAL,  # retention removes old images
        value_fn=lambda counters: counters.saved_total,
    ),
    Esp32CameraSaverSensorDescription(
        key="saved_today",
        translation_key="saved_today",
        state_class=SensorStateClass.TOTAL_INCREASING,  # restarts at midnight
        entity_registry_enabled_default=False,
        value_fn=lambda counters: counters.saved_today,
    ),
    Esp32CameraSaverSensorDescription(
        key="saved_size",
        translation_key="saved_size",
        device_class=SensorDeviceClass.DATA_SIZE,
        native_unit_of_measurement=UnitOfInformation.BYTES,
        suggested_unit_of_measurement=UnitOfInformation.MEGABYTES,
        state_class=SensorStateClass.TOTAL,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda counters: counters.saved_bytes,
    ),
    Esp32CameraSaverSensorDescription(
        key="saving_dropped",
        translation_key="saving_dropped",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda counters: counters.dropped,
    ),
    Esp32CameraSaverSensorDescription(
        key="saving_errors",
        translation_key="saving_errors",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda counters: counters.errors,
    ),
    Esp32CameraSaverSensorDescription(
        key="last_saved",
        translation_key="last_saved",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda counters: counters.last_saved_at,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: Esp32CameraConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the hub's sensors, and those of every admitted camera, now and when one connects."""
    hub = entry.runtime_data
    async_add_entities(Esp32CameraHubSensor(hub, description) for description in HUB_SENSORS)
    async_add_camera_entities(
        hass,
        entry,
        async_add_entities,
        lambda hub, camera: (
            *(Esp32CameraSensor(hub, camera, description) for description in SENSORS),
            *(Esp32CameraSaverSensor(hub, camera, description) for description in SAVER_SENSORS),
        ),
    )


class Esp32CameraSensor(Esp32CameraEntity, SensorEntity):
    """One value of a camera's statistics or telemetry."""

    entity_description: Esp32CameraSensorDescription

    def __init__(
        self,
        hub: Esp32CameraHub,
        camera: CameraRecord,
        description: Esp32CameraSensorDescription,
    ) -> None:
        """Create the sensor from its description."""
        super().__init__(hub, camera, description.key)
        self.entity_description = description

    @property
    @override
    def native_value(self) -> float | int | str | datetime | None:
        """The value, with a boot time held steady against uptime rounding."""
        value = self.entity_description.value_fn(self.camera)
        previous = self._attr_native_value
        if (
            isinstance(value, datetime)
            and self.entity_description.key == "last_boot"
            and isinstance(previous, datetime)
            and abs(value - previous) < BOOT_TIME_TOLERANCE
        ):
            return previous
        self._attr_native_value = value
        return value


class Esp32CameraSaverSensor(Esp32CameraEntity, SensorEntity):
    """A continuous-saving counter of a camera; the saver runs whether the camera is here or not."""

    entity_description: Esp32CameraSaverSensorDescription

    def __init__(
        self,
        hub: Esp32CameraHub,
        camera: CameraRecord,
        description: Esp32CameraSaverSensorDescription,
    ) -> None:
        """Create the sensor from its description."""
        super().__init__(hub, camera, description.key)
        self.entity_description = description

    @property
    @override
    def available(self) -> bool:
        """Always: the counters are the hub's."""
        return True

    @property
    @override
    def native_value(self) -> int | datetime | None:
        """The counter."""
        return self.entity_description.value_fn(self.hub.saver.counters(self.camera.camera_id))

    @override
    def update_signals(self) -> Iterable[SignalType[()]]:
        """Return the saver's (throttled) counter updates, not the camera's."""
        return (signals.saver_updated(self.hub.entry.entry_id, self.camera.camera_id),)


class Esp32CameraHubSensor(SensorEntity):
    """A statistic of the hub device, as the original /api/health and /api/stats reported."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    entity_description: Esp32CameraHubSensorDescription

    def __init__(self, hub: Esp32CameraHub, description: Esp32CameraHubSensorDescription) -> None:
        """Create the sensor from its description."""
        self.hub = hub
        self.entity_description = description
        self._attr_unique_id = f"{hub.entry.entry_id}_{description.key}"
        self._attr_device_info = DeviceInfo(identifiers={(DOMAIN, hub.entry.entry_id)})
        self._listening_since: datetime | None = None

    @property
    @override
    def native_value(self) -> float | int | datetime | None:
        """The hub statistic; the start time is computed once."""
        if self.entity_description.key == "listening_since":
            if self._listening_since is None:
                value = self.entity_description.value_fn(self.hub)
                self._listening_since = value if isinstance(value, datetime) else None
            return self._listening_since
        return self.entity_description.value_fn(self.hub)

    @override
    async def async_added_to_hass(self) -> None:
        """Follow the hub's (throttled) updates."""
        await super().async_added_to_hass()
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass, signals.hub_updated(self.hub.entry.entry_id), self.async_write_ha_state
            )
        )
