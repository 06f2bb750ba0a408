"""The integration as it was on 2026-11-29, run beside today's: the core path's cost to meet.

Issue 22 asks the core path back to at most its 11-29 cost. The 11-29 run's ratios
(docs/benchmarks/quick-2026-11-29.json) came from the bench of that day, which measured idle once
per run and CPU in clock ticks; today's bench measures idle before each window and every
thread's run time (bench/fanout.py). Measured by today's bench, side by side, the 11-29 code
itself costs 1.5x the relay for one viewer. So the fan-out runs that code too, one viewer in
every round, in a second `hass` (with the probe only) that it starts for its windows, and reports
the core path against it.

The code comes from git (`git archive`): a clone without that commit (a shallow one: `git fetch
--unshallow`), or a reference that does not start, leaves the row out, and the log says why.
"""

from __future__ import annotations

import io
from pathlib import Path
import subprocess
import tarfile

from bench.measure import REPO

# The commit of the recorded 11-29 runs (docs/benchmarks/*-2026-11-29.json): its integration is
# the code those runs measured (the commit changed nothing under custom_components/).
REFERENCE_COMMIT = "891220ea674314f1e8f4004ef8ac4f41ef347d0d"
REFERENCE_DATE = "2026-11-29"
# Its rows' target in the fan-out's results.
REFERENCE_TARGET = "reference"
_COMPONENT = "custom_components/esp32_camera"


class ReferenceUnavailableError(Exception):
    """The reference commit cannot be exported (not in this clone)."""


def export(directory: Path, commit: str = REFERENCE_COMMIT) -> Path:
    """Write the integration of `commit` under `directory`; return its component folder."""
    try:
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", "--format=tar", commit, _COMPONENT],
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as err:
        detail = getattr(err, "stderr", b"") or str(err).encode()
        raise ReferenceUnavailableError(
            f"cannot export {commit[:7]} from {REPO}: {detail.decode(errors='replace').strip()}"
        ) from err
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(directory, filter="data")
    return directory / _COMPONENT
