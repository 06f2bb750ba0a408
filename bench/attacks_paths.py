"""Files outside the integration's reach (issue 18, finding 5): the snapshot action aimed at www/.

    scripts/bench --only attacks                                  # with the other attacks
    ESP32_CAMERA_ATTACKS=paths scripts/bench --only attacks       # these alone

A signed-in household member (HA's "users" group, not an administrator, logged in through HA's
login flow) calls `esp32_camera.snapshot` on the legitimate camera over the REST API with file names
in `www/` (served without login at /local/): new `.html` files, over an existing `www/existing.js`,
and a relative name that climbs out of the save directory into `www/`; then its default snapshot
(whose response must not show where Home Assistant keeps its files). The owner (an administrator)
then aims at `www/` too (refused unless the hub option allows served folders). Counted: files
written into `www/`, existing files changed, calls answered 200, responses or errors that show the
save directory's absolute path to the household member.
"""

from __future__ import annotations

from pathlib import Path
import secrets
from typing import TYPE_CHECKING, Any

import aiohttp

from bench.attack_tools import Phase

if TYPE_CHECKING:
    from bench.testbed import Bench

ROUNDS = 10  # of each kind of call
EXISTING = b"/* a user's script, served at /local/existing.js */\n"


async def _household_token(bench: Bench) -> str:
    """Create a household member (not an administrator) with a password; return their token."""
    tokens = await bench.hass.add_member("household", secrets.token_urlsafe(16), name="Household")
    return str(tokens["access_token"])


async def _snapshot(bench: Bench, token: str, entity: str, **data: Any) -> tuple[int, str]:
    """Call the snapshot action as the token's user; return the status and the answer's text."""
    async with bench.hass.session.post(
        f"{bench.hass.url}/api/services/esp32_camera/snapshot?return_response",
        json={"entity_id": entity, **data},
        headers={"Authorization": f"Bearer {token}"},
        timeout=aiohttp.ClientTimeout(total=30),
    ) as answer:
        return answer.status, await answer.text()


def _www_state(www: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in www.iterdir() if path.is_file()}


async def path_attacks(bench: Bench) -> dict[str, Any]:
    """The household member's and the owner's snapshots into www/; one row."""
    config = bench.hass.config
    www = config / "www"
    www.mkdir(exist_ok=True)
    (www / "existing.js").write_bytes(EXISTING)
    before = _www_state(www)
    entity = (await bench.camera_entities("legit-", 1))["legit-1"]
    household = await _household_token(bench)
    statuses: dict[int, int] = {}
    shown_absolute = 0
    async with Phase(bench) as phase:
        calls: list[tuple[str, dict[str, Any]]] = []
        for number in range(ROUNDS):
            calls += [
                (household, {"filename": str(www / f"pwn{number}.html")}),
                (household, {"filename": str(www / "existing.js")}),
                # From <config>/media/esp32_camera, the save directory, up into www/.
                (household, {"filename": f"../../www/climb{number}.jpg"}),
                (household, {}),
                (bench.access_token, {"filename": str(www / f"owner{number}.jpg")}),
            ]
        for token, data in calls:
            status, text = await _snapshot(bench, token, entity, **data)
            statuses[status] = statuses.get(status, 0) + 1
            # Where HA keeps its files: the save directory (an echo of the caller's own input is none).
            if token == household and str(config / "media") in text:
                shown_absolute += 1
    after = _www_state(www)
    written = after.keys() - before.keys()
    return await phase.result(
        "snapshot into www/ (household member, owner)",
        calls=len(calls),
        statuses=statuses,
        www_files_written=len(written),
        www_files_written_by_household=sum(1 for name in written if not name.startswith("owner")),
        www_files_changed=sum(1 for name in before if after.get(name) != before[name]),
        save_directory_shown_to_household=shown_absolute,
    )
