"""The camera's frame-size table and parsing of the firmware's resolution texts."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
import re


class Risk(StrEnum):
    """How risky a frame size is for the OV3660 sensor."""

    NONE = "none"
    HIGH = "high"  # FHD: corrupt frames
    CRITICAL = "critical"  # QXGA: can hang the sensor until reboot


@dataclass(frozen=True, kw_only=True, slots=True)
class Resolution:
    """One entry of the firmware's frame-size table."""

    index: int
    name: str
    width: int
    height: int
    risk: Risk = Risk.NONE

    @property
    def key(self) -> str:
        """Stable lower-case key (select option, service field)."""
        return self.name.lower()

    @property
    def label(self) -> str:
        """Human label, e.g. "XGA (1024x768)"."""
        return f"{self.name} ({self.width}x{self.height})"


RESOLUTIONS: tuple[Resolution, ...] = (
    Resolution(index=0, name="QQVGA", width=160, height=120),
    Resolution(index=1, name="QCIF", width=176, height=144),
    Resolution(index=2, name="HQVGA", width=240, height=176),
    Resolution(index=3, name="QVGA", width=320, height=240),
    Resolution(index=4, name="CIF", width=400, height=296),
    Resolution(index=5, name="VGA", width=640, height=480),
    Resolution(index=6, name="SVGA", width=800, height=600),
    Resolution(index=7, name="XGA", width=1024, height=768),
    Resolution(index=8, name="HD", width=1280, height=720),
    Resolution(index=9, name="SXGA", width=1280, height=1024),
    Resolution(index=10, name="UXGA", width=1600, height=1200),
    Resolution(index=11, name="FHD", width=1920, height=1080, risk=Risk.HIGH),
    Resolution(index=12, name="QXGA", width=2048, height=1536, risk=Risk.CRITICAL),
)
DEFAULT_RESOLUTION = RESOLUTIONS[7]
MAX_RESOLUTIONS = 64
"""Entries of info's list read at most (the firmware lists 13): its parsing is bounded."""
_MAX_LABEL_LENGTH = 64  # "12:QXGA(2048x1536)" is 18 characters; longer entries are skipped
_CACHED_LIST_LENGTH = 4096  # lists up to this length are cached by content (the firmware's: ~260)
_BY_NAME = {resolution.name: resolution for resolution in RESOLUTIONS}
_BY_SIZE = {(resolution.width, resolution.height): resolution for resolution in RESOLUTIONS}

# "XGA (1024x768)" in health, "7:XGA(1024x768)" in info; spaces tolerated. Numbers have at most
# 5 digits: so int() is cheap and cannot fail, and no dimension is absurd.
_LABEL = re.compile(
    r"^\s*(?:(\d{1,5})\s*:)?\s*([A-Za-z]+)\s*\(\s*(\d{1,5})\s*x\s*(\d{1,5})\s*\)\s*$"
)


def resolution_by_index(index: int) -> Resolution | None:
    """Return the table entry for a frame-size index, or None."""
    return RESOLUTIONS[index] if 0 <= index < len(RESOLUTIONS) else None


def resolution_by_key(key: str) -> Resolution | None:
    """Return the entry for a key such as "xga" or a name such as "XGA"."""
    return _BY_NAME.get(key.strip().upper())


def resolution_by_size(width: int, height: int) -> Resolution | None:
    """Return the entry with these dimensions, or None."""
    return _BY_SIZE.get((width, height))


def parse_resolution_label(text: str) -> Resolution | None:
    """Parse health's "XGA (1024x768)"; "Unknown", "Custom" and garbage give None."""
    match = _LABEL.match(text) if len(text) <= _MAX_LABEL_LENGTH else None
    if match is None:
        return None
    by_name = _BY_NAME.get(match.group(2).upper())
    return by_name or resolution_by_size(int(match.group(3)), int(match.group(4)))


def parse_resolution_list(text: str) -> tuple[Resolution, ...]:
    """Parse info's "0:QQVGA(160x120),1:QCIF(176x144),..." skipping entries it cannot read.

    Bounded whatever the text: at most MAX_RESOLUTIONS entries of at most 64 characters are
    read (a 400 KB list took 90 ms on the event loop before). A list of the firmware's size is
    parsed once per content: each camera repeats its own on every connection.
    """
    if len(text) <= _CACHED_LIST_LENGTH:
        return _cached_resolution_list(text)
    return _resolution_list(text)


@lru_cache(maxsize=32)
def _cached_resolution_list(text: str) -> tuple[Resolution, ...]:
    return _resolution_list(text)


def _resolution_list(text: str) -> tuple[Resolution, ...]:
    found: list[Resolution] = []
    # maxsplit: the items after the last one read stay one piece, skipped for its length.
    for item in text.split(",", MAX_RESOLUTIONS)[:MAX_RESOLUTIONS]:
        match = _LABEL.match(item) if len(item) <= _MAX_LABEL_LENGTH else None
        if match is None or match.group(1) is None:
            continue
        index, width, height = int(match.group(1)), int(match.group(3)), int(match.group(4))
        known = resolution_by_index(index)
        if known is not None and (known.width, known.height) == (width, height):
            found.append(known)
        else:
            found.append(
                Resolution(index=index, name=match.group(2).upper(), width=width, height=height)
            )
    return tuple(found)


def resolution_table() -> dict[str, object]:
    """Return the resolution table as JSON, with each size's risk and the default (API and panel)."""
    return {
        "resolutions": [
            {
                "index": resolution.index,
                "key": resolution.key,
                "name": resolution.name,
                "width": resolution.width,
                "height": resolution.height,
                "risk": str(resolution.risk),
            }
            for resolution in RESOLUTIONS
        ],
        "default": DEFAULT_RESOLUTION.index,
    }
