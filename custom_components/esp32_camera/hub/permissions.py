"""Who may do what: the integration's one rule for Home Assistant users.

Any signed-in user (a household member) may watch the cameras, take a snapshot at the camera's
resolution and record a clip. Everything else that changes a camera or the hub is for
administrators: commands (reboot, sensor reset, telemetry), the resolution, quality and every other
camera setting, continuous saving and its rate, motion detection and its zones, recording on
motion and clip lengths, a snapshot's or a clip's filename template and overwrite, approvals. A call without a user (an automation, a script started by
one, Home Assistant itself) passes: an administrator wrote it.

`check_admin` is the rule; services, entities, WebSocket commands and HTTP views all apply it
(`esp32_camera.send_command` through Home Assistant's `async_register_admin_service`, the same
rule). Approvals go through config and options flows, which Home Assistant keeps for
administrators.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
import functools
from typing import Any, Protocol, cast

from homeassistant.auth.models import User
from homeassistant.components.websocket_api.connection import ActiveConnection
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import Unauthorized, UnknownUser

from ..const import DOMAIN


class AdminRequired(Unauthorized):
    """A non-administrator asked for an administrator's action (a translated `Unauthorized`)."""

    def __init__(self, action: str, user: User, context: Context | None = None) -> None:
        """Name the refused action; the message is the translated one."""
        super().__init__(context=context, user_id=user.id)
        self.translation_domain = DOMAIN
        self.translation_key = "admin_required"
        self.translation_placeholders = {"action": action}
        # Unauthorized passes its class name as the message: generate the translation instead.
        self.generate_message = True


def check_admin(user: User | None, action: str, context: Context | None = None) -> None:
    """Apply the rule: raise `AdminRequired` unless there is no user or they are an administrator.

    `action` names what was refused (an entity id, a WebSocket command, an option), for the
    message and the log.
    """
    if user is not None and not has_admin_reach(user):
        raise AdminRequired(action, user, context)


async def async_caller(hass: HomeAssistant, context: Context | None) -> User | None:
    """Return the user of a call's context (None: an automation, a script, Home Assistant).

    As Home Assistant's admin services, a user id that names nobody is refused (`UnknownUser`).
    """
    if context is None or context.user_id is None:
        return None
    user = await hass.auth.async_get_user(context.user_id)
    if user is None:
        raise UnknownUser(context=context, user_id=context.user_id)
    return user


def has_admin_reach(user: User | None) -> bool:
    """Return whether the rule lets this caller do an administrator's actions."""
    return user is None or user.is_admin


async def async_check_admin(hass: HomeAssistant, context: Context | None, action: str) -> None:
    """Apply the rule to the user of a call's context (none: an automation, a script)."""
    check_admin(await async_caller(hass, context), action, context)


type WebSocketHandler = Callable[[HomeAssistant, ActiveConnection, dict[str, Any]], None]


def admin_websocket_command(handler: WebSocketHandler) -> WebSocketHandler:
    """Apply the rule to a WebSocket command before it runs (answered `unauthorized`)."""

    @functools.wraps(handler)
    def checked(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
        check_admin(connection.user, msg["type"], connection.context(msg))
        handler(hass, connection, msg)

    return checked


class _Checked(Protocol):
    """What `admin_action` needs of an entity (Home Assistant's `Entity` has it)."""

    hass: HomeAssistant
    entity_id: str
    _context: Context | None


def admin_action[ActionT: Callable[..., Coroutine[Any, Any, Any]]](action: ActionT) -> ActionT:
    """Apply the rule to an entity's action (select, set, turn on/off, press) before it runs.

    Home Assistant sets the entity's context to the service call's just before calling the
    action, so `_context.user_id` is the caller (None for automations and scripts).
    """

    @functools.wraps(action)
    async def checked(self: _Checked, *args: Any, **kwargs: Any) -> Any:
        await async_check_admin(self.hass, self._context, self.entity_id)
        return await action(self, *args, **kwargs)

    return cast("ActionT", checked)
