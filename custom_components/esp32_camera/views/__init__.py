"""Every HTTP route of the integration, and who may use it: audit authentication here.

Home Assistant's HTTP server (`async_register_views`, once per run: views cannot be removed):

| view | URL under /api/esp32_camera | who |
| --- | --- | --- |
| `StatsView` | `/stats` | signed-in users; addresses and paths for administrators |
| `HealthView` | `/health` | signed-in users |
| `ResolutionsView`, `CommandsView` | `/resolutions`, `/commands` | signed-in users |
| `PendingCameraPreviewView` | `/preview/<entry>/<address>` | administrators (approvals are theirs) |
| `SavedImageView` | `/saved/<entry>/<path>` | signed-in users, or a signed URL |
| `ClipReplayView` | `/clip/<entry>/<camera>/<day>/<name>` | signed-in users, or a signed URL |
| `FrameSocketView` | `/frames` (WebSocket: the page's live pictures) | signed-in users (a signed path: a browser's WebSocket sends no header), each camera if they may read its entity; closed when their login is revoked |

The panel's modules are static files (`panel.py`), as every frontend module of HA. The live
MJPEG stream is the camera entity's (HA's own `/api/camera_proxy_stream`). A hub's control port
serves `/mjpeg/<camera>` and `/snapshot/<camera>.jpg` only when its `expose_http` option is on,
with the hub token (`control_port.py`), and `/h264/<camera>.ts` always, for the cameras whose H.264
switch is on, with the streams' password as Basic authentication (`h264_stream.py`).
"""

from __future__ import annotations

from homeassistant.core import HomeAssistant, callback

from .clip_replay import ClipReplayView
from .frame_socket import FrameSocketView
from .pending_preview import PendingCameraPreviewView
from .saved_images import SavedImageView
from .server_api import CommandsView, HealthView, ResolutionsView, StatsView


@callback
def async_register_views(hass: HomeAssistant) -> None:
    """Register every view of the table above (from `async_setup`)."""
    for view in (
        StatsView(),
        HealthView(),
        ResolutionsView(),
        CommandsView(),
        PendingCameraPreviewView(),
        SavedImageView(),
        ClipReplayView(),
        FrameSocketView(),
    ):
        hass.http.register_view(view)
