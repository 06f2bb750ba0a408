"""Admission: the user's approvals and refusals of addresses (kept in the store) and repairs.

The listener decides each connection; this keeps what the user decided and applies it to the
listener at once: an approved camera streams without reconnecting, a refused or revoked one is
disconnected (4403). A device that keeps presenting a wrong token raises a repair issue.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import replace

from homeassistant.core import HomeAssistant, callback

from ..const import LOGGER
from ..listener import CameraRecord, DeviceListener
from .repair_issues import async_delete_issue, async_raise_issue
from .store import HubStore

# Wrong-token connections from one address before a repair issue is raised.
AUTH_FAILURES_FOR_ISSUE = 3
# Addresses whose wrong tokens are counted (the oldest are forgotten), and at most this many
# per-address repair issues: a flood of addresses is reported by the one "unknown devices" issue.
AUTH_ADDRESSES_TRACKED = 64
AUTH_ISSUES = 5
# Sources named in the "unknown devices" issue.
UNKNOWN_SOURCES_SHOWN = 16


class HubAdmission:
    """Approvals, refusals and authentication failures of one hub."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        title: str,
        store: HubStore,
        listener: DeviceListener,
    ) -> None:
        """Bind the registry to the hub's store and listener."""
        self._hass, self._entry_id, self._title = hass, entry_id, title
        self._store, self._listener = store, listener
        self._auth_failures: OrderedDict[str, int] = OrderedDict()
        self._auth_issues: set[str] = set()
        self._unknown_devices_issue = False

    @callback
    def async_apply_stored(self) -> None:
        """Give the listener the stored approvals and refusals (before it starts)."""
        self._listener.settings = replace(
            self._listener.settings,
            approved_addresses=frozenset(self._store.approved),
            rejected_addresses=self._store.refused,
        )

    @property
    def approved(self) -> Mapping[str, str | None]:
        """Approved addresses -> the camera id each was approved as (None: not known)."""
        return self._store.approved

    @property
    def refused(self) -> frozenset[str]:
        """Refused addresses."""
        return self._store.refused

    async def async_approve(
        self, address: str, cameras: Mapping[str, CameraRecord], name: str | None = None
    ) -> None:
        """Admit a waiting camera's address at once, and from now on (written on return).

        `name` names the camera (a stock camera's id is its address) before the listener admits
        it: its device, and so its entity ids, are made with that name (`camera.garage`).
        """
        camera_id = next(
            (c.camera_id for c in cameras.values() if c.address == address and not c.admitted),
            None,
        )
        if name is not None and (camera := cameras.get(address)) is not None:
            camera.name = name
        self._listener.approve(address)  # at once; the write follows
        await self._store.async_approve(address, camera_id, name)

    async def async_refuse(self, address: str) -> None:
        """Refuse an address at once, and from now on; its sockets close (4403)."""
        self._listener.reject(address)
        await self._store.async_refuse(address)

    async def async_revoke(self, address: str) -> None:
        """Withdraw an address's approval or refusal: an approved camera is refused at once.

        The address waits for approval again when it connects.
        """
        self._listener.revoke(address)
        await self._store.async_revoke(address)

    @callback
    def async_authenticated(self, address: str) -> None:
        """Delete the repair issue of an address that now presents the right token."""
        self._auth_failures.pop(address, None)
        if address in self._auth_issues:
            self._delete_issue(address)

    @callback
    def async_authentication_failed(self, address: str, reason: str) -> None:
        """Raise a repair issue when one address keeps presenting a wrong token."""
        count = self._auth_failures[address] = self._auth_failures.pop(address, 0) + 1
        while len(self._auth_failures) > AUTH_ADDRESSES_TRACKED:
            self._auth_failures.popitem(last=False)
        if count == AUTH_FAILURES_FOR_ISSUE and len(self._auth_issues) < AUTH_ISSUES:
            self._auth_issues.add(address)
            LOGGER.warning("Device at %s keeps failing authentication: %s", address, reason)
            async_raise_issue(
                self._hass,
                self._issue_id(address),
                "authentication_failed",
                {"address": address, "title": self._title},
            )

    @callback
    def async_stop(self) -> None:
        """Delete the repair issues: counted per run, a wrong token after a restart raises it again."""
        for address in list(self._auth_issues):
            self._delete_issue(address)
        self._auth_failures.clear()
        async_delete_issue(self._hass, self._unknown_devices_issue_id)

    @callback
    def async_pending_overflow(self, sources: Sequence[str]) -> None:
        """Raise one repair issue: more unknown devices try to connect than may wait for approval.

        The listener tells this at most once per period; the issue names the newest sources
        (addresses, or IPv6 /64 prefixes) and is replaced, never multiplied.
        """
        shown = sorted(sources)[:UNKNOWN_SOURCES_SHOWN]
        if not self._unknown_devices_issue:
            LOGGER.warning(
                "Unknown devices keep trying to connect to %s (%d sources, e.g. %s)",
                self._title,
                len(sources),
                ", ".join(shown[:3]),
            )
        self._unknown_devices_issue = True
        async_raise_issue(
            self._hass,
            self._unknown_devices_issue_id,
            "unknown_devices",
            {"title": self._title, "count": str(len(sources)), "sources": ", ".join(shown)},
        )

    @property
    def _unknown_devices_issue_id(self) -> str:
        return f"unknown_devices_{self._entry_id}"

    def _issue_id(self, address: str) -> str:
        return f"authentication_failed_{self._entry_id}_{address}"

    def _delete_issue(self, address: str) -> None:
        self._auth_issues.discard(address)
        async_delete_issue(self._hass, self._issue_id(address))
