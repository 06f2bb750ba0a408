"""Saved pictures and clips in Home Assistant's Media panel (the `media_source` platform).

Identifiers under `media-source://esp32_camera/`:

    (none)                                       the hubs; their cameras when one hub is loaded
    <entry>                                      a hub's cameras
    <entry>/<camera>                             its folders: clips, snapshots, saved images
    <entry>/<camera>/clips                       the days of its clips, newest first
    <entry>/<camera>/clips/<day>[/<file>]        that day's clips, newest first; a clip
    <entry>/<camera>/snapshots[/<file>]          its snapshots, newest first; a snapshot
    <entry>/<camera>/saved                       the days of continuous saving, newest first
    <entry>/<camera>/saved/<day>                 that day's hours, newest first
    <entry>/<camera>/saved/<day>/<hour>[/<file>] that hour's images, newest first; an image

A folder shows at most LIST_LIMIT items, the newest; the others are counted as not shown. Every
part of an identifier is checked against the layout (layout.py) and every file against the save
directory (no `..`, no link out of it) before anything is listed or played.

A clip whose AVI `read_avi` refuses (damaged, or a crafted file in the folder) is not listed
(replay.readable_clips). A clip plays as its MP4 (H.264, `video/mp4`) when one was made. Otherwise it plays as the MJPEG
replay (views/clip_replay.py), typed `image/jpeg` as Home Assistant types its own MJPEG camera streams: the
Media panel shows an `image/*` item in an `<img>`, which plays MJPEG, while it refuses
`multipart/x-mixed-replace` and no browser plays `video/x-msvideo`.

Titles are short, so the Media panel never cuts them (issue 20: "2026-12-06 14:03:12 · motion"
was cut and in ISO form): a day folder is its date, a clip its start time and length ("2:03:12 PM ·
12 s", "14:03:12 · 12 s"), in the server's language (`hass.config.language`: English and Spanish
names; another language gets ISO dates and a 24-hour clock). A day folder's thumbnail is its
newest clip's.

Thumbnails and resolved URLs are authenticated paths, as in Home Assistant's own media sources:
the Media panel fetches thumbnails with the user's token, and media_source signs what it resolves.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Final, override

from homeassistant.components.media_player.const import MediaClass
from homeassistant.components.media_player.errors import BrowseError
from homeassistant.components.media_source import (
    BrowseMediaSource,
    MediaSource,
    MediaSourceItem,
    PlayMedia,
    Unresolvable,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.translation import async_get_translations
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .disk import layout
from .disk.listing import (
    ClipDetails,
    ClipFiles,
    clip_days,
    clip_files,
    newest_clips,
    newest_saved,
    newest_snapshots,
    readable_clips,
    saved_days,
    saved_hours,
    served_file,
)
from .hub.devices import camera_entity_id
from .hub.hub import loaded_hub, loaded_hubs
from .views.clip_replay import replay_url, report_unreadable
from .views.saved_images import saved_file_url

if TYPE_CHECKING:
    from .hub.hub import Esp32CameraHub

# Items shown per folder (the newest); continuous saving alone can write 72,000 files an hour.
LIST_LIMIT = 500
# The folders of a camera (their identifiers, and their titles' keys in strings.json's `common`).
CLIPS, SNAPSHOTS, SAVED = layout.CLIPS_DIRECTORY, layout.SNAPSHOTS_DIRECTORY, "saved"
SOURCE_TITLE = "ESP32 Camera"
IMAGE_JPEG = "image/jpeg"
VIDEO_MP4 = "video/mp4"
# Day and month names of the languages the integration is translated into (no locale library in
# Home Assistant's core); other languages get ISO dates.
_WEEKDAYS: Final = {
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "es": ("lun", "mar", "mié", "jue", "vie", "sáb", "dom"),
}
_MONTHS: Final = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "es": ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic"),
}
# Languages whose clock is 12-hour (Home Assistant's "en" is American English).
_TWELVE_HOUR: Final = frozenset({"en", "en-us"})


def day_title(day: str, language: str, today: date) -> str:
    """Return a day folder's title in `language`: "Sun, Dec 6" (en), "dom 6 dic" (es).

    The year is added when it is not this year's; other languages get the ISO date.
    """
    when = date.fromisoformat(day)
    base = language.lower().split("-")[0]
    if base not in _WEEKDAYS:
        return day
    weekday, month = _WEEKDAYS[base][when.weekday()], _MONTHS[base][when.month - 1]
    year = "" if when.year == today.year else f" {when.year}"
    if base == "en":
        return f"{weekday}, {month} {when.day}" + (f",{year}" if year else "")
    return f"{weekday} {when.day} {month}{year}"


def clock_title(at: datetime, language: str) -> str:
    """Return a time of day: "2:03:12 PM" where the clock is 12-hour, else "14:03:12"."""
    if language.lower() in _TWELVE_HOUR:
        return f"{(at.hour - 1) % 12 + 1}:{at:%M:%S} {'AM' if at.hour < 12 else 'PM'}"
    return f"{at:%H:%M:%S}"


def length_title(seconds: float) -> str:
    """Return a clip's length: "12 s", "1 min 5 s", "2 min" (the same in English and Spanish)."""
    whole = max(1, round(seconds))
    minutes, rest = divmod(whole, 60)
    if not minutes:
        return f"{rest} s"
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


async def async_get_media_source(hass: HomeAssistant) -> Esp32CameraMediaSource:
    """Return the media source of the hubs' saved pictures and clips."""
    return Esp32CameraMediaSource(hass)


class Esp32CameraMediaSource(MediaSource):
    """The save directories of the loaded hubs, by hub and camera."""

    name = SOURCE_TITLE

    def __init__(self, hass: HomeAssistant) -> None:
        """Serve the hubs of `hass`."""
        super().__init__(DOMAIN)
        self.hass = hass

    @override
    async def async_resolve_media(self, item: MediaSourceItem) -> PlayMedia:
        """Return the URL and type that play a clip, a snapshot or a saved image."""
        hub, camera_id, path = self._parse(item.identifier, Unresolvable)
        camera_dir = layout.camera_directory(hub.save_directory, camera_id)
        root = Path(hub.save_directory)
        match path:
            case [folder, day, name] if folder == CLIPS:
                clip = await self.hass.async_add_executor_job(clip_files, camera_dir, day, name)
                if clip is not None:
                    if clip.mp4 is not None:
                        return PlayMedia(saved_file_url(hub, clip.mp4), VIDEO_MP4)
                    return PlayMedia(replay_url(hub, camera_id, clip), IMAGE_JPEG)
            case [folder, name] if folder == SNAPSHOTS and name.endswith(".jpg"):
                if file := await self._served(root, camera_dir / SNAPSHOTS / name):
                    return PlayMedia(saved_file_url(hub, file), IMAGE_JPEG)
            case [folder, day, hour, name] if folder == SAVED and layout.SAVED_FILE.match(name):
                if (
                    layout.DAY_DIRECTORY.match(day)
                    and layout.HOUR_DIRECTORY.match(hour)
                    and (file := await self._served(root, camera_dir / day / hour / name))
                ):
                    return PlayMedia(saved_file_url(hub, file), IMAGE_JPEG)
        raise _not_found(Unresolvable, item.identifier)

    async def _served(self, root: Path, path: Path) -> Path | None:
        """Return `path` if SavedImageView serves it (a file inside `root`), else None."""
        relative = path.relative_to(root).as_posix()
        return await self.hass.async_add_executor_job(served_file, root, relative)

    @override
    async def async_browse_media(self, item: MediaSourceItem) -> BrowseMediaSource:
        """Return the folder `item` names, with its children."""
        titles = await async_get_translations(
            self.hass, self.hass.config.language, "common", [DOMAIN]
        )
        browser = _Browser(self.hass, titles)
        if not item.identifier:
            hubs = loaded_hubs(self.hass)
            if len(hubs) == 1:
                return browser.hub(hubs[0], root=True)
            return browser.hubs(hubs)
        parts = item.identifier.split("/")
        if len(parts) == 1:
            return browser.hub(self._hub(parts[0], item.identifier, BrowseError))
        hub, camera_id, path = self._parse(item.identifier, BrowseError)
        camera_dir = layout.camera_directory(hub.save_directory, camera_id)
        prefix = f"{hub.entry.entry_id}/{camera_id}"
        run = self.hass.async_add_executor_job
        match path:
            case []:
                return browser.camera(hub, camera_id)
            case [folder] if folder == CLIPS:
                days = await run(clip_days, camera_dir)
                newest = await run(_newest_thumbnails, camera_dir, days)
                return browser.folder(
                    f"{prefix}/{CLIPS}",
                    browser.title(CLIPS),
                    [
                        browser.folder(
                            f"{prefix}/{CLIPS}/{day}",
                            browser.day(day),
                            thumbnail=saved_file_url(hub, thumbnail) if thumbnail else None,
                        )
                        for day, thumbnail in zip(days, newest, strict=True)
                    ],
                    MediaClass.DIRECTORY,
                )
            case [folder, day] if folder == CLIPS and layout.DAY_DIRECTORY.match(day):
                # Clips the replay could not play are left out (and logged, rate-limited).
                readable = await run(partial(readable_clips, camera_dir, LIST_LIMIT, day=day))
                report_unreadable(camera_dir, readable.refused)
                clips = readable.newest
                return browser.folder(
                    f"{prefix}/{CLIPS}/{day}",
                    browser.day(day),
                    [
                        browser.clip(hub, camera_id, clip, readable.details.get(clip.avi))
                        for clip in clips.items
                    ],
                    MediaClass.VIDEO,
                    clips.total - len(clips.items),
                )
            case [folder] if folder == SNAPSHOTS:
                snapshots = await run(newest_snapshots, camera_dir, LIST_LIMIT)
                return browser.folder(
                    f"{prefix}/{SNAPSHOTS}",
                    browser.title(SNAPSHOTS),
                    [
                        browser.image(hub, f"{prefix}/{SNAPSHOTS}/{file.name}", file, _title(file))
                        for file in snapshots.items
                    ],
                    MediaClass.IMAGE,
                    snapshots.total - len(snapshots.items),
                )
            case [folder] if folder == SAVED:
                days = await run(saved_days, camera_dir)
                return browser.folder(
                    f"{prefix}/{SAVED}",
                    browser.title(SAVED),
                    [browser.folder(f"{prefix}/{SAVED}/{day}", day) for day in days],
                    MediaClass.DIRECTORY,
                )
            case [folder, day] if folder == SAVED:
                hours = await run(saved_hours, camera_dir, day)
                if hours is not None:
                    return browser.folder(
                        f"{prefix}/{SAVED}/{day}",
                        day,
                        [
                            browser.folder(f"{prefix}/{SAVED}/{day}/{hour}", f"{hour}:00")
                            for hour in hours
                        ],
                        MediaClass.DIRECTORY,
                    )
            case [folder, day, hour] if folder == SAVED:
                images = await run(newest_saved, camera_dir, day, hour, LIST_LIMIT)
                if images is not None:
                    here = f"{prefix}/{SAVED}/{day}/{hour}"
                    return browser.folder(
                        here,
                        f"{day} {hour}:00",
                        [
                            browser.image(hub, f"{here}/{file.name}", file, _title(file))
                            for file in images.items
                        ],
                        MediaClass.IMAGE,
                        images.total - len(images.items),
                    )
        raise _not_found(BrowseError, item.identifier)

    def _parse[E: HomeAssistantError](
        self, identifier: str, error: type[E]
    ) -> tuple[Esp32CameraHub, str, list[str]]:
        """Split `<entry>/<camera>/<path...>` into a loaded hub, a camera it knows and the path."""
        entry_id, _, rest = identifier.partition("/")
        camera_id, _, path = rest.partition("/")
        hub = self._hub(entry_id, identifier, error)
        camera = hub.cameras.get(camera_id)
        if camera is None or not camera.admitted:
            raise _not_found(error, identifier)
        return hub, camera_id, path.split("/") if path else []

    def _hub[E: HomeAssistantError](
        self, entry_id: str, identifier: str, error: type[E]
    ) -> Esp32CameraHub:
        """Return the loaded hub of `entry_id`, or raise `error`."""
        if (hub := loaded_hub(self.hass, entry_id)) is None:
            raise error(
                translation_domain=DOMAIN,
                translation_key="media_hub_not_loaded",
                translation_placeholders={"identifier": identifier},
            )
        return hub


def _not_found[E: HomeAssistantError](error: type[E], identifier: str) -> E:
    """Return `error` saying that nothing of the hubs is at `identifier`."""
    return error(
        translation_domain=DOMAIN,
        translation_key="media_not_found",
        translation_placeholders={"identifier": identifier},
    )


def _newest_thumbnails(camera_dir: Path, days: list[str]) -> list[Path | None]:
    """Return each day's newest clip's thumbnail (names only, no clip opened; executor)."""
    thumbnails: list[Path | None] = []
    for day in days:
        newest = newest_clips(camera_dir, 1, day=day).items
        thumbnails.append(newest[0].thumbnail if newest else None)
    return thumbnails


def _title(file: Path) -> str:
    """Return the time in a saved image's or snapshot's name (`10:30:00.123`), else the name."""
    if match := layout.SAVED_FILE.match(file.name):
        hour, minute, second, fraction = match.groups()
        return f"{hour}:{minute}:{second}.{fraction[:3]}"
    if layout.SNAPSHOT_FILE.match(file.name):
        day, time = file.name.removesuffix(".jpg").split("_", 1)
        return f"{day} {time[:8].replace('-', ':')}"
    return file.name


class _Browser:
    """Builds the Media panel's items of one browse, in the server's language."""

    def __init__(self, hass: HomeAssistant, titles: dict[str, str]) -> None:
        self.hass = hass
        self.titles = titles

    def title(self, key: str) -> str:
        """Return the translated title `key` of strings.json's `common` section."""
        return self.titles.get(f"component.{DOMAIN}.common.{key}", key)

    def folder(
        self,
        identifier: str | None,
        title: str,
        children: list[BrowseMediaSource] | None = None,
        children_class: MediaClass | None = None,
        not_shown: int = 0,
        *,
        thumbnail: str | None = None,
    ) -> BrowseMediaSource:
        """Return a folder (its children when browsed, none when listed in its parent)."""
        return BrowseMediaSource(
            domain=DOMAIN,
            identifier=identifier,
            media_class=MediaClass.DIRECTORY,
            media_content_type="",
            title=title,
            can_play=False,
            can_expand=True,
            children=children,
            children_media_class=children_class,
            not_shown=not_shown,
            thumbnail=thumbnail,
        )

    def hubs(self, hubs: list[Esp32CameraHub]) -> BrowseMediaSource:
        """Return the root when several hubs (or none) are loaded: a folder per hub."""
        return self.folder(
            None,
            SOURCE_TITLE,
            sorted(
                (self.folder(hub.entry.entry_id, hub.entry.title) for hub in hubs),
                key=lambda item: item.title.lower(),
            ),
            MediaClass.DIRECTORY,
        )

    def hub(self, hub: Esp32CameraHub, *, root: bool = False) -> BrowseMediaSource:
        """Return a hub's folder of cameras (the root itself when it is the only hub)."""
        entities = er.async_get(self.hass)
        cameras = []
        for camera_id, camera in hub.cameras.items():
            if not camera.admitted:
                continue
            entity_id = camera_entity_id(entities, hub.entry.entry_id, camera_id)
            cameras.append(
                self.folder(
                    f"{hub.entry.entry_id}/{camera_id}",
                    self.camera_title(hub, camera_id),
                    thumbnail=f"/api/camera_proxy/{entity_id}" if entity_id else None,
                )
            )
        cameras.sort(key=lambda item: item.title.lower())
        return self.folder(
            None if root else hub.entry.entry_id,
            SOURCE_TITLE if root else hub.entry.title,
            cameras,
            MediaClass.DIRECTORY,
        )

    def camera_title(self, hub: Esp32CameraHub, camera_id: str) -> str:
        """Return a camera's name as its device shows it (the user's name first)."""
        return hub.camera_name(hub.cameras[camera_id])  # the panel's rule (hub/devices.py)

    def camera(self, hub: Esp32CameraHub, camera_id: str) -> BrowseMediaSource:
        """Return a camera's folder: its clips, snapshots and continuously saved images."""
        prefix = f"{hub.entry.entry_id}/{camera_id}"
        return self.folder(
            prefix,
            self.camera_title(hub, camera_id),
            [
                self.folder(f"{prefix}/{CLIPS}", self.title(CLIPS)),
                self.folder(f"{prefix}/{SNAPSHOTS}", self.title(SNAPSHOTS)),
                self.folder(f"{prefix}/{SAVED}", self.title(SAVED)),
            ],
            MediaClass.DIRECTORY,
        )

    def day(self, day: str) -> str:
        """Return a day folder's title in the server's language."""
        return day_title(day, self.hass.config.language, dt_util.now().date())

    def clip(
        self,
        hub: Esp32CameraHub,
        camera_id: str,
        clip: ClipFiles,
        details: ClipDetails | None,
    ) -> BrowseMediaSource:
        """Return a playable clip, titled with its start, its length and (an action's) reason."""
        language = self.hass.config.language
        title = clock_title(clip.started_at(dt_util.get_default_time_zone()), language)
        if details is not None:
            title += f" · {length_title(details.duration)}"
        if clip.reason != "motion":  # most clips: the folder of a motion camera says it
            title += f" · {self.title(clip.reason)}"
        return BrowseMediaSource(
            domain=DOMAIN,
            identifier=f"{hub.entry.entry_id}/{camera_id}/{CLIPS}/{clip.day}/{clip.avi.name}",
            media_class=MediaClass.VIDEO,
            media_content_type=VIDEO_MP4 if clip.mp4 else IMAGE_JPEG,
            title=title,
            can_play=True,
            can_expand=False,
            thumbnail=saved_file_url(hub, clip.thumbnail) if clip.thumbnail else None,
        )

    def image(
        self, hub: Esp32CameraHub, identifier: str, file: Path, title: str
    ) -> BrowseMediaSource:
        """Return a JPEG, its own thumbnail."""
        return BrowseMediaSource(
            domain=DOMAIN,
            identifier=identifier,
            media_class=MediaClass.IMAGE,
            media_content_type=IMAGE_JPEG,
            title=title,
            can_play=True,
            can_expand=False,
            thumbnail=saved_file_url(hub, file),
        )
