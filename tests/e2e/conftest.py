"""The end-to-end tests' shared set-up: a real `hass`, the hub, eight simulated cameras, Chromium.

Run by `scripts/e2e` (`pytest tests/e2e`), not by `scripts/test`. One `hass` process with a fresh
configuration directory on free ports, onboarded and with the hub added through the REST API, eight
simulated cameras streaming into it and one headless Chromium (Playwright) serve the whole session.
The modules run in MODULE_ORDER whatever `-k` selects; a test fails on any command Home Assistant
refused the browser and on any error thrown by our modules during it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Generator, Iterator
import itertools
import logging
import os
from pathlib import Path
import shutil
import tempfile
import time

from playwright.async_api import async_playwright
import pytest
import pytest_asyncio
import pytest_socket

from bench.browser import CHROMIUM_ARGS, create_card_dashboard
from esp32_simulator import SimulatedCamera
from harness.hass_process import HomeAssistant, free_port
from tests.e2e.browser_helpers import (
    CAMERA_COUNT,
    GRID_RESOLUTION,
    OUTPUT,
    SCREENSHOTS,
    BrowserWatch,
    Hub,
    WatchedBrowser,
    log,
)

E2E_TESTS = Path(__file__).resolve().parent
# The modules in the order they run. Each sees what the ones before left: the panel screenshots
# come after every check that changes a camera's settings; the restart, a camera removed and the
# motion camera (a ninth tile) change the shared set-up, so they come last.
MODULE_ORDER = (
    "test_e2e_panel.py",
    "test_e2e_card.py",
    "test_e2e_i18n.py",
    "test_e2e_clips.py",
    "test_e2e_non_admin.py",
    "test_e2e_motion_zones.py",
    "test_e2e_controls.py",
    "test_e2e_latency.py",
    "test_e2e_h264.py",  # turns the first camera's H.264 stream on, then off again
    "test_e2e_h264_switch.py",  # the same from the device page, then off again
    "test_e2e_screenshots.py",
    "test_e2e_restart.py",
    "test_e2e_removed_camera.py",
    "test_e2e_motion_clip.py",
    "test_e2e_naming.py",  # adds a stock camera, approved and named in HA's own dialog
)
# Seconds per test, its share of the session's set-up included (starting `hass` alone may take
# two minutes on a busy machine; the motion test waits up to three for its clip's MP4).
TEST_TIMEOUT = 600


def pytest_addoption(parser: pytest.Parser) -> None:
    """Options of `scripts/e2e` (which passes its arguments to pytest)."""
    group = parser.getgroup("e2e", "end-to-end tests (tests/e2e)")
    group.addoption(
        "--chromium",
        default=os.environ.get("CHROMIUM", "/usr/bin/chromium"),
        help="the Chromium to run (default: $CHROMIUM, else /usr/bin/chromium)",
    )
    group.addoption(
        "--keep", action="store_true", help="keep the hass configuration directory after the run"
    )


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """Keep Home Assistant's test plugin from logging everything at DEBUG under -v.

    The [e2e] lines are the report; a failed test's captured log shows warnings and errors.
    """
    logging.getLogger().setLevel(logging.WARNING)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the e2e tests in MODULE_ORDER on the session's event loop, with a longer timeout."""
    positions = [index for index, item in enumerate(items) if E2E_TESTS in item.path.parents]
    ours = [items[index] for index in positions]
    unlisted = sorted({item.path.name for item in ours} - set(MODULE_ORDER))
    if unlisted:
        raise pytest.UsageError(f"tests/e2e/conftest.py: add {unlisted} to MODULE_ORDER")
    ours.sort(key=lambda item: MODULE_ORDER.index(item.path.name))  # stable: tests keep order
    for index, item in zip(positions, ours, strict=True):
        # The session's hass, cameras and browser live on the session's loop.
        item.add_marker(pytest.mark.asyncio(loop_scope="session"), append=False)
        item.add_marker(pytest.mark.timeout(TEST_TIMEOUT))
        items[index] = item


# The test plugin's autouse fixtures are for an in-process Home Assistant per test; here Home
# Assistant is a process of its own and the cameras, the browser and their threads live for the
# whole session. These keep the plugin's out of the way.
@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Nothing: the real `hass` loads the integration from its configuration directory."""


@pytest.fixture(autouse=True)
def verify_cleanup() -> None:
    """Nothing: the session's tasks and threads outlive each test by design."""


@pytest.fixture(autouse=True)
def enable_event_loop_debug() -> None:
    """Nothing: debug mode slows a loop, and the latency figures are measured on this one."""


@pytest.fixture(autouse=True)
def configure_event_loop() -> None:
    """Nothing: the session's loop is configured once (the plugin's session fixture)."""


@pytest.fixture(autouse=True)
def real_sockets(socket_enabled: None) -> None:
    """Let each test talk to `hass` and the cameras over real sockets (blocked by default)."""


# The report of a test's call, kept for its fixtures' teardown to see how it went.
CALL_REPORT = pytest.StashKey[pytest.TestReport]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep the report of the test's call on it (CALL_REPORT)."""
    report = yield
    if call.when == "call":
        item.stash[CALL_REPORT] = report
    return report


@pytest_asyncio.fixture(autouse=True, loop_scope="session")
async def browser_problems_fail_the_test(
    request: pytest.FixtureRequest, browser: WatchedBrowser
) -> AsyncIterator[None]:
    """Fail the test on a command Home Assistant refused the browser or an error of our modules.

    A failed test leaves its pages open: they are saved in e2e-output/ as they were, then closed.
    """
    yield
    call = request.node.stash.get(CALL_REPORT, None)
    failed_pages = itertools.count()  # numbered across contexts: each page its own file
    for context in browser.chromium.contexts:
        if call is not None and call.failed:
            for page in context.pages:
                path = OUTPUT / f"failure-{request.node.name}-{next(failed_pages)}.png"
                OUTPUT.mkdir(exist_ok=True)
                await page.screenshot(path=path, full_page=True)
                log(f"the failed test's page {page.url}: {path.relative_to(OUTPUT.parent)}")
        await context.close()
    problems = browser.watch.take_problems()
    assert not problems, problems


@pytest.fixture(scope="session", autouse=True)
def shared_set_up(
    home_assistant: HomeAssistant,
    hub: Hub,
    cameras: list[SimulatedCamera],
    camera_entity_id: str,
    card_path: str,
    browser: WatchedBrowser,
) -> None:
    """Everything shared, set up before the first test whichever tests `-k` selects.

    Within that one set-up sockets are allowed (`home_assistant`): the test plugin blocks them
    again before each later test's set-up, before its `real_sockets`.
    """


@pytest.fixture(scope="session")
def config_directory(pytestconfig: pytest.Config) -> Iterator[Path]:
    """The run's fresh Home Assistant configuration directory (kept with --keep)."""
    config = Path(tempfile.mkdtemp(prefix="esp32-camera-e2e-"))
    yield config
    if pytestconfig.getoption("keep", default=False):
        log(f"configuration kept in {config}")
    else:
        shutil.rmtree(config, ignore_errors=True)


@pytest.fixture(scope="session")
def save_directory(config_directory: Path) -> Path:
    """Where the hub saves images and clips (its default under Home Assistant's media)."""
    return config_directory / "media" / "esp32_camera"


@pytest.fixture(scope="session")
def shots() -> Path:
    """Where the screenshots go: docs/screenshots/ (README links them by name)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def home_assistant(config_directory: Path) -> AsyncIterator[HomeAssistant]:
    """A real `hass` on a free port, onboarded (the owner logged in)."""
    # Set up within the first test's set-up, after the test plugin blocked sockets for it.
    pytest_socket.enable_socket()
    started = time.monotonic()
    # ffmpeg and stream: clips' MP4s, and the H.264 stream in HA's own player (HLS).
    hass = HomeAssistant(
        config_directory, free_port(), extra_yaml="media_source:\nffmpeg:\nstream:\n"
    )
    try:
        await hass.start()
        log(f"hass answers on {hass.url} ({time.monotonic() - started:.0f} s)")
        await hass.onboard()
        yield hass
    finally:
        await hass.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def hub(home_assistant: HomeAssistant) -> Hub:
    """The hub, added through the config flow on free ports."""
    stream_port, control_port = free_port(), free_port()
    token = await home_assistant.add_hub(stream_port, control_port)
    log(f"hub added: frames on {stream_port}, control on {control_port}")
    return Hub(stream_port, control_port, token)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def cameras(hub: Hub) -> AsyncIterator[list[SimulatedCamera]]:
    """Eight simulated cameras streaming QVGA into the hub, each sending frames ("Camera 1"...)."""
    streaming = [
        SimulatedCamera(
            "127.0.0.1",
            hub.stream_port,
            camera_id=f"cam-{index}",
            name=f"Camera {index}",
            token=hub.token,
            resolution=GRID_RESOLUTION,
            fps=8,
            mode="speed",
            pacing=False,
            health_interval=5,
            stamp_frames=index == 1,  # the display latency is read from the first's stamps
        )
        for index in range(1, CAMERA_COUNT + 1)
    ]
    try:
        for camera in streaming:
            camera.start()
        await asyncio.gather(*(camera.wait_frames(3, timeout=30) for camera in streaming))
        yield streaming
    finally:
        for camera in streaming:
            await camera.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def camera_entity_id(home_assistant: HomeAssistant, cameras: list[SimulatedCamera]) -> str:
    """The camera entity of the first camera by name (Camera 1), which the card shows."""
    async with home_assistant.websocket() as call:
        listing = await call("esp32_camera/cameras")
    entity_id: str = listing["cameras"][0]["entity_id"]
    return entity_id


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def card_path(home_assistant: HomeAssistant, camera_entity_id: str) -> str:
    """A dashboard with the card of Camera 1; its path."""
    return await create_card_dashboard(home_assistant, camera_entity_id)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser(
    pytestconfig: pytest.Config, cameras: list[SimulatedCamera]
) -> AsyncIterator[WatchedBrowser]:
    """Headless Chromium, started once the cameras stream; closing it must raise no problem."""
    # The option exists when pytest was given tests/e2e (its conftest then adds options).
    chromium = pytestconfig.getoption(
        "chromium", default=os.environ.get("CHROMIUM", "/usr/bin/chromium")
    )
    async with async_playwright() as playwright:
        watched = WatchedBrowser(
            await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS),
            BrowserWatch(),
        )
        yield watched
        await watched.chromium.close()
    problems = watched.watch.take_problems()
    assert not problems, problems
