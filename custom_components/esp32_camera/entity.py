"""Base entity of the ESP32 Camera integration."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol, override

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util.signal_type import SignalType

from .hub import signals
from .hub.camera_settings import is_reported
from .hub.devices import camera_device_info, camera_unique_id
from .hub.entity_updates import STATISTICS_WRITE_INTERVAL
from .hub.hub import Esp32CameraConfigEntry, Esp32CameraHub
from .hub.throttle import Throttle
from .listener import CameraRecord
from .motion import MotionEvent


def async_add_camera_entities(
    hass: HomeAssistant,
    entry: Esp32CameraConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    create: Callable[[Esp32CameraHub, CameraRecord], Iterable[Entity]],
) -> None:
    """Add a platform's entities for every admitted camera, now and whenever one connects.

    A camera whose device the user removed gets new entities when it connects again.
    """
    hub = entry.runtime_data
    known: set[str] = set()

    @callback
    def add(camera: CameraRecord) -> None:
        if camera.camera_id not in known and camera.admitted:
            known.add(camera.camera_id)
            async_add_entities(create(hub, camera))

    @callback
    def forget(camera_id: str) -> None:
        known.discard(camera_id)

    for camera in hub.cameras.values():
        add(camera)
    entry.async_on_unload(async_dispatcher_connect(hass, signals.camera_added(entry.entry_id), add))
    entry.async_on_unload(
        async_dispatcher_connect(hass, signals.camera_removed(entry.entry_id), forget)
    )


def async_add_camera_entity(
    hass: HomeAssistant,
    entry: Esp32CameraConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    entity_class: Callable[[Esp32CameraHub, CameraRecord], Entity],
) -> None:
    """Add one entity of `entity_class` for every admitted camera, now and when one connects."""
    async_add_camera_entities(
        hass, entry, async_add_entities, lambda hub, camera: (entity_class(hub, camera),)
    )


def async_add_described_entities[DescriptionT: EntityDescription](
    hass: HomeAssistant,
    entry: Esp32CameraConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    entity_class: Callable[[Esp32CameraHub, CameraRecord, DescriptionT], Entity],
    descriptions: Iterable[DescriptionT],
) -> None:
    """Add one entity per description for every admitted camera, now and when one connects."""
    async_add_camera_entities(
        hass,
        entry,
        async_add_entities,
        lambda hub, camera: (
            entity_class(hub, camera, description) for description in descriptions
        ),
    )


class StateWrites:
    """When an entity writes its state after a signal: at once, or at most once a minute.

    A value that moves with every frame (frame rate, bitrate, saved images) is written at most
    once per `STATISTICS_WRITE_INTERVAL`: the logbook and the recorder keep every change. Becoming
    available or unavailable is written at once all the same, and the last value always lands
    (a trailing write).
    """

    def __init__(self, entity: Entity, *, slow: bool) -> None:
        """Prepare the writes of `entity`; `slow` throttles them."""
        self._entity = entity
        self._slow = slow
        self._throttle: Throttle | None = None
        self._written_available: bool | None = None

    @callback
    def async_signalled(self) -> None:
        """Write the state now, or when the interval since the last write has passed."""
        entity = self._entity
        if not self._slow:
            entity.async_write_ha_state()
            return
        if self._throttle is None:
            self._throttle = Throttle(entity.hass, STATISTICS_WRITE_INTERVAL, self._async_write)
        if entity.available != self._written_available:
            self._throttle.async_call_now()  # the interval restarts from this write
        else:
            self._throttle.async_call()

    @callback
    def _async_write(self) -> None:
        self._written_available = self._entity.available
        self._entity.async_write_ha_state()

    @callback
    def async_cancel(self) -> None:
        """Drop a pending trailing write (the entity is removed)."""
        if self._throttle is not None:
            self._throttle.async_cancel()


class Esp32CameraEntity(Entity):
    """An entity of one camera, updated by the hub's (throttled) per-camera signal."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    _always_available = False
    """Whether it stays available while the camera is away (its state is not the camera's)."""
    _slow_writes = False
    """Whether its value moves with every frame: written at most once a minute (`StateWrites`)."""

    def __init__(self, hub: Esp32CameraHub, camera: CameraRecord, key: str) -> None:
        """Bind the entity to its camera."""
        self.hub = hub
        self.camera = camera
        entry_id = hub.entry.entry_id
        self._attr_unique_id = camera_unique_id(entry_id, camera.camera_id, key)
        health = camera.health
        model = health.model if health and health.model else None
        self._attr_device_info = camera_device_info(hub.hass, entry_id, camera, model)

    @property
    @override
    def available(self) -> bool:
        """Available while the camera is connected and admitted (or always, if so declared)."""
        return self._always_available or (self.camera.connected and self.camera.admitted)

    def update_signals(self) -> Iterable[SignalType[()]]:
        """Return the dispatcher signals after which the state is written."""
        return (signals.camera_updated(self.hub.entry.entry_id, self.camera.camera_id),)

    @override
    async def async_added_to_hass(self) -> None:
        """Follow the camera's updates."""
        await super().async_added_to_hass()
        writes = StateWrites(self, slow=self._slow_writes)
        self.async_on_remove(writes.async_cancel)
        for signal in self.update_signals():
            self.async_on_remove(
                async_dispatcher_connect(self.hass, signal, writes.async_signalled)
            )


class Esp32CameraDescribedEntity[DescriptionT: EntityDescription](Esp32CameraEntity):
    """An entity of one camera made from an entity description."""

    entity_description: DescriptionT

    def __init__(
        self, hub: Esp32CameraHub, camera: CameraRecord, description: DescriptionT
    ) -> None:
        """Create the entity of one camera from its description."""
        super().__init__(hub, camera, description.key)
        self.entity_description = description


class Esp32CameraMotionEntity[DescriptionT: EntityDescription](
    Esp32CameraDescribedEntity[DescriptionT]
):
    """An entity that also follows the camera's motion starts and ends (written at once)."""

    @override
    async def async_added_to_hass(self) -> None:
        """Follow the camera's updates and its motion starts and ends."""
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
        """Write the state when motion starts or ends."""
        self.async_write_ha_state()


@dataclass(frozen=True, kw_only=True, slots=True)
class ControlBinding:
    """Where a control's value lives, as the firmware's text ("1", "20", "speed").

    `read_fn` gives what the entity shows and `write_fn` changes it through the hub, which keeps
    the choice in its store (raising a translated error when that fails).
    """

    read_fn: Callable[[Esp32CameraHub, str], str | None]
    write_fn: Callable[[Esp32CameraHub, str, str], Awaitable[object]]
    needs_camera: bool = True
    """Whether the control works only while the camera is connected."""
    signal_fn: Callable[[str, str], SignalType[()]] | None = None
    """The dispatcher signal `(entry_id, camera_id)` sent when the value changes elsewhere (other
    than the camera's own signal), e.g. the saver's settings changed from the panel."""
    assumed: bool = False
    """Whether the value is the one last set from Home Assistant, never read back from the camera
    (the entity's `assumed_state`; unknown until set)."""


def command_binding(command: str) -> ControlBinding:
    """Bind a control to a firmware command: the hub keeps the value and re-applies it."""
    return ControlBinding(
        read_fn=lambda hub, camera_id: hub.settings.current(camera_id, command),
        write_fn=lambda hub, camera_id, value: hub.async_send_command(camera_id, command, value),
        assumed=not is_reported(command),
    )


def saver_binding(
    read_fn: Callable[[Esp32CameraHub, str], str | None],
    write_fn: Callable[[Esp32CameraHub, str, str], Awaitable[object]],
) -> ControlBinding:
    """Bind a control to the camera's continuous saving (the hub's, kept in its store).

    It works while the camera is away, and shows a change made elsewhere (the panel) at once.
    """
    return ControlBinding(
        read_fn=read_fn,
        write_fn=write_fn,
        needs_camera=False,
        signal_fn=signals.saver_settings_updated,
    )


class _PerCameraSettings(Protocol):
    """A part of the hub that keeps a settings dataclass per camera in its store."""

    def settings(self, camera_id: str) -> object:
        """Return the camera's settings."""

    async def async_set(self, camera_id: str, **changes: Any) -> None:
        """Change some of the camera's settings (stored before it returns)."""


def _hub_setting_binding(
    name: str,
    parse: Callable[[str], object],
    part_fn: Callable[[Esp32CameraHub], _PerCameraSettings],
    signal_fn: Callable[[str, str], SignalType[()]],
) -> ControlBinding:
    """Bind a control to one field of the settings a part of the hub keeps per camera.

    The field is shown as text ("1"/"0" for on/off, "2.5" for numbers); `parse` turns the
    control's text back into the field's value. It works while the camera is away.
    """

    def read(hub: Esp32CameraHub, camera_id: str) -> str:
        value = getattr(part_fn(hub).settings(camera_id), name)
        return ("1" if value else "0") if isinstance(value, bool) else f"{value:g}"

    async def write(hub: Esp32CameraHub, camera_id: str, value: str) -> None:
        await part_fn(hub).async_set(camera_id, **{name: parse(value)})

    return ControlBinding(read_fn=read, write_fn=write, needs_camera=False, signal_fn=signal_fn)


def motion_binding(name: str, parse: Callable[[str], object]) -> ControlBinding:
    """Bind a control to one of the camera's motion settings (the hub's, kept in its store)."""
    return _hub_setting_binding(
        name, parse, lambda hub: hub.motion, signals.motion_settings_updated
    )


def recording_binding(name: str, parse: Callable[[str], object]) -> ControlBinding:
    """Bind a control to one of the camera's clip settings (the hub's, kept in its store)."""
    return _hub_setting_binding(
        name, parse, lambda hub: hub.clips, signals.recording_settings_updated
    )


@dataclass(frozen=True, kw_only=True)
class Esp32CameraControlDescription(EntityDescription):
    """What the select, number and switch descriptions share: their setting."""

    binding: ControlBinding


class Esp32CameraControlEntity[DescriptionT: Esp32CameraControlDescription](
    Esp32CameraDescribedEntity[DescriptionT]
):
    """A control: shows its setting and forwards changes to the hub (which keeps the choice)."""

    def __init__(
        self, hub: Esp32CameraHub, camera: CameraRecord, description: DescriptionT
    ) -> None:
        """Create the control; the hub's own settings stay available while the camera is away."""
        super().__init__(hub, camera, description)
        self._binding = description.binding
        self._always_available = not description.binding.needs_camera
        self._attr_assumed_state = description.binding.assumed

    @override
    def update_signals(self) -> Iterable[SignalType[()]]:
        """Return the camera's signal, and the setting's own signal if it has one."""
        signals = tuple(super().update_signals())
        if (signal_fn := self._binding.signal_fn) is not None:
            signals += (signal_fn(self.hub.entry.entry_id, self.camera.camera_id),)
        return signals

    @property
    def setting(self) -> str | None:
        """The setting's current value as the firmware's text, None while unknown."""
        return self._binding.read_fn(self.hub, self.camera.camera_id)

    async def async_change_setting(self, value: str) -> None:
        """Change the setting; the state changes only once the change succeeded."""
        await self._binding.write_fn(self.hub, self.camera.camera_id, value)
        self.async_write_ha_state()
