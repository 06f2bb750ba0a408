"""Sensors: a camera's stream statistics, health telemetry and motion score."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, TypedDict, Unpack, override

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    PERCENTAGE,
    SIGNAL_STRENGTH_DECIBELS_MILLIWATT,
    EntityCategory,
    UnitOfDataRate,
    UnitOfInformation,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util
from homeassistant.util.signal_type import SignalType

from .entity import Esp32CameraDescribedEntity, StateWrites, async_add_camera_entities
from .hub import signals
from .hub.clock import monotonic_to_datetime
from .hub.devices import hub_device_info
from .hub.hub import Esp32CameraConfigEntry, Esp32CameraHub
from .hub.image_saver import SaverCounters
from .listener import CameraRecord
from .protocol import HealthMessage

PARALLEL_UPDATES = 0
# A last-boot time recomputed from a coarse uptime text jitters; ignore moves smaller than this.
BOOT_TIME_TOLERANCE = timedelta(seconds=30)


def _last_boot(camera: CameraRecord) -> datetime | None:
    health = camera.health
    if health is None or health.uptime is None:
        return None
    return dt_util.utcnow() - health.uptime


@dataclass(frozen=True, kw_only=True)
class Esp32CameraSensorDescription(SensorEntityDescription):
    """A camera sensor and how to read it from the camera record."""

    value_fn: Callable[[CameraRecord], float | int | str | datetime | None]
    slow_writes: bool = False
    """Its value moves with every frame: written at most once a minute (entity.StateWrites)."""


class _Rate(TypedDict):
    """What the camera's and the hub's frame-rate sensors share."""

    native_unit_of_measurement: str
    state_class: SensorStateClass
    suggested_display_precision: int


class _Bitrate(_Rate):
    """What the camera's and the hub's bitrate sensors share."""

    device_class: SensorDeviceClass


class _Size(TypedDict):
    """A size in bytes, shown in kilobytes."""

    device_class: SensorDeviceClass
    native_unit_of_measurement: str
    suggested_unit_of_measurement: str


class _TelemetryOptions(TypedDict, total=False):
    """What telemetry sensors may add to their description."""

    device_class: SensorDeviceClass
    native_unit_of_measurement: str
    suggested_unit_of_measurement: str
    state_class: SensorStateClass
    entity_registry_enabled_default: bool


FPS = _Rate(
    native_unit_of_measurement="fps",
    state_class=SensorStateClass.MEASUREMENT,
    suggested_display_precision=1,
)
BITRATE = _Bitrate(
    device_class=SensorDeviceClass.DATA_RATE,
    native_unit_of_measurement=UnitOfDataRate.KILOBITS_PER_SECOND,
    state_class=SensorStateClass.MEASUREMENT,
    suggested_display_precision=0,
)
KILOBYTES = _Size(
    device_class=SensorDeviceClass.DATA_SIZE,
    native_unit_of_measurement=UnitOfInformation.BYTES,
    suggested_unit_of_measurement=UnitOfInformation.KILOBYTES,
)


# Diagnostic sensors: a count that only grows, or a moment.
COUNT: Mapping[str, Any] = MappingProxyType({"state_class": SensorStateClass.TOTAL_INCREASING})
MOMENT: Mapping[str, Any] = MappingProxyType({"device_class": SensorDeviceClass.TIMESTAMP})


def _diagnostic[DescriptionT: SensorEntityDescription](
    description: Callable[..., DescriptionT],
    kind: Mapping[str, Any],
    key: str,
    value_fn: Callable[[Any], int | datetime | None],
    *,
    enabled_by_default: bool = True,
    slow_writes: bool = False,
) -> DescriptionT:
    """Describe a diagnostic sensor of a camera, its saving or the hub (COUNT or MOMENT)."""
    return description(
        key=key,
        translation_key=key,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=enabled_by_default,
        value_fn=value_fn,
        **kind,
        **({"slow_writes": True} if slow_writes else {}),
    )


def _telemetry(
    key: str, value_fn: Callable[[HealthMessage], int | None], **kwargs: Unpack[_TelemetryOptions]
) -> Esp32CameraSensorDescription:
    """Describe a diagnostic sensor of the camera's `health` telemetry (unknown until it reports)."""
    return Esp32CameraSensorDescription(
        key=key,
        translation_key=key,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda camera: None if camera.health is None else value_fn(camera.health),
        **kwargs,
    )


SENSORS: tuple[Esp32CameraSensorDescription, ...] = (
    Esp32CameraSensorDescription(
        key="fps",
        translation_key="fps",
        value_fn=lambda camera: round(camera.stats.fps, 2),
        slow_writes=True,
        **FPS,
    ),
    Esp32CameraSensorDescription(
        key="bitrate",
        translation_key="bitrate",
        value_fn=lambda camera: round(camera.stats.bitrate / 1000, 1),
        slow_writes=True,
        **BITRATE,
    ),
    # Goes up with every frame: the panel shows it live; the recorder would keep each step.
    _diagnostic(
        Esp32CameraSensorDescription,
        COUNT,
        "frames_received",
        lambda camera: camera.stats.frames_received,
        enabled_by_default=False,
    ),
    _diagnostic(
        Esp32CameraSensorDescription,
        COUNT,
        "frames_failed",
        lambda camera: camera.stats.frames_failed,
        slow_writes=True,  # on a weak signal it can grow with every few frames
    ),
    _diagnostic(
        Esp32CameraSensorDescription, COUNT, "reconnects", lambda camera: camera.reconnects
    ),
    Esp32CameraSensorDescription(
        key="last_frame_size",
        translation_key="last_frame_size",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,  # differs with every frame
        value_fn=lambda camera: camera.stats.last_frame_size,
        **KILOBYTES,
    ),
    Esp32CameraSensorDescription(
        key="resolution",
        translation_key="resolution",
        value_fn=lambda camera: camera.health.resolution_text if camera.health else None,
    ),
    _telemetry("quality", lambda health: health.quality),
    _telemetry(
        "free_heap",
        lambda health: health.heap,
        state_class=SensorStateClass.MEASUREMENT,
        entity_registry_enabled_default=False,
        **KILOBYTES,
    ),
    _telemetry(
        "min_free_heap",
        lambda health: health.min_heap,
        state_class=SensorStateClass.MEASUREMENT,
        entity_registry_enabled_default=False,
        **KILOBYTES,
    ),
    _telemetry(
        "wifi_signal",
        lambda health: health.rssi,
        device_class=SensorDeviceClass.SIGNAL_STRENGTH,
        native_unit_of_measurement=SIGNAL_STRENGTH_DECIBELS_MILLIWATT,
        state_class=SensorStateClass.MEASUREMENT,
        entity_registry_enabled_default=False,
    ),
    _diagnostic(
        Esp32CameraSensorDescription, MOMENT, "last_boot", _last_boot, enabled_by_default=False
    ),
    # A new time with every frame: 13 logbook entries a minute per camera when it was enabled.
    _diagnostic(
        Esp32CameraSensorDescription,
        MOMENT,
        "last_frame",
        lambda camera: monotonic_to_datetime(camera.stats.last_frame_at),
        enabled_by_default=False,
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
    slow_writes: bool = False
    """Its value moves with every frame: written at most once a minute (entity.StateWrites)."""


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
        value_fn=lambda hub: hub.hub_statistics()["fps"],
        slow_writes=True,
        **FPS,
    ),
    Esp32CameraHubSensorDescription(
        key="total_bitrate",
        translation_key="total_bitrate",
        value_fn=lambda hub: round(hub.hub_statistics()["bitrate"] / 1000, 1),
        slow_writes=True,
        **BITRATE,
    ),
    _diagnostic(
        Esp32CameraHubSensorDescription,
        MOMENT,
        "listening_since",
        lambda hub: monotonic_to_datetime(hub.started_at),
    ),
)


@dataclass(frozen=True, kw_only=True)
class Esp32CameraSaverSensorDescription(SensorEntityDescription):
    """A continuous-saving counter of a camera."""

    value_fn: Callable[[SaverCounters], int | datetime | None]
    slow_writes: bool = False
    """It moves with every saved frame: written at most once a minute (entity.StateWrites)."""


SAVER_SENSORS: tuple[Esp32CameraSaverSensorDescription, ...] = (
    Esp32CameraSaverSensorDescription(
        key="saved_images",
        translation_key="saved_images",
        state_class=SensorStateClass.TOTAL,  # retention removes old images
        value_fn=lambda counters: counters.saved_total,
        slow_writes=True,
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
        slow_writes=True,
    ),
    _diagnostic(
        Esp32CameraSaverSensorDescription,
        COUNT,
        "saving_dropped",
        lambda counters: counters.dropped,
        slow_writes=True,  # grows with every frame while the disk lags
    ),
    _diagnostic(
        Esp32CameraSaverSensorDescription,
        COUNT,
        "saving_errors",
        lambda counters: counters.errors,
        enabled_by_default=False,
    ),
    # A new time with every saved frame while continuous saving runs.
    _diagnostic(
        Esp32CameraSaverSensorDescription,
        MOMENT,
        "last_saved",
        lambda counters: counters.last_saved_at,
        enabled_by_default=False,
    ),
)


# Written with the camera's other statistics (throttled), not per analysed frame.
MOTION_SCORE = SensorEntityDescription(
    key="motion_score",
    translation_key="motion_score",
    native_unit_of_measurement=PERCENTAGE,
    state_class=SensorStateClass.MEASUREMENT,
    suggested_display_precision=1,
    entity_registry_enabled_default=False,
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
            Esp32CameraMotionScoreSensor(hub, camera, MOTION_SCORE),
        ),
    )


class Esp32CameraSensor(Esp32CameraDescribedEntity[Esp32CameraSensorDescription], SensorEntity):
    """One value of a camera's statistics or telemetry."""

    entity_description: Esp32CameraSensorDescription

    def __init__(
        self, hub: Esp32CameraHub, camera: CameraRecord, description: Esp32CameraSensorDescription
    ) -> None:
        """Create the sensor; a statistic of the stream is written at most once a minute."""
        super().__init__(hub, camera, description)
        self._slow_writes = description.slow_writes

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


class Esp32CameraSaverSensor(
    Esp32CameraDescribedEntity[Esp32CameraSaverSensorDescription], SensorEntity
):
    """A continuous-saving counter of a camera; the saver runs whether the camera is here or not."""

    entity_description: Esp32CameraSaverSensorDescription
    _always_available = True  # the counters are the hub's

    def __init__(
        self,
        hub: Esp32CameraHub,
        camera: CameraRecord,
        description: Esp32CameraSaverSensorDescription,
    ) -> None:
        """Create the counter; one that moves with every saved frame is written once a minute."""
        super().__init__(hub, camera, description)
        self._slow_writes = description.slow_writes

    @property
    @override
    def native_value(self) -> int | datetime | None:
        """The counter."""
        return self.entity_description.value_fn(self.hub.saver.counters(self.camera.camera_id))

    @override
    def update_signals(self) -> Iterable[SignalType[()]]:
        """Return the saver's (throttled) counter updates, not the camera's."""
        return (signals.saver_updated(self.hub.entry.entry_id, self.camera.camera_id),)


class Esp32CameraMotionScoreSensor(
    Esp32CameraDescribedEntity[SensorEntityDescription], SensorEntity
):
    """The changed share of the camera's latest analysed frame (with the camera's throttled update)."""

    entity_description: SensorEntityDescription

    @property
    @override
    def native_value(self) -> float | None:
        """The score, percent; None before the first analysed frame."""
        score = self.hub.motion.score(self.camera.camera_id)
        return None if score is None else round(score, 2)


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
        self._attr_device_info = hub_device_info(hub.entry.entry_id, hub.entry.title)
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
        """Follow the hub's (throttled) updates; the totals of the stream once a minute."""
        await super().async_added_to_hass()
        writes = StateWrites(self, slow=self.entity_description.slow_writes)
        self.async_on_remove(writes.async_cancel)
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass, signals.hub_updated(self.hub.entry.entry_id), writes.async_signalled
            )
        )
