"""`scripts/test` names a program the tests need that PATH lacks, before the suite starts.

A fresh machine without ffmpeg failed one test deep in the suite (issue 20): the check reads
tests/programs.txt, the list of the programs the tests run, and stops with the setup's advice.
"""

from __future__ import annotations

import os
from pathlib import Path
import shutil
import subprocess

from tests.helpers import REPOSITORY

PROGRAMS = REPOSITORY / "tests" / "programs.txt"


def listed_programs() -> list[str]:
    """The programs tests/programs.txt names (first word of each line that is not a comment)."""
    lines = PROGRAMS.read_text(encoding="utf-8").splitlines()
    return [line.split()[0] for line in lines if line.strip() and not line.startswith("#")]


def path_with_only(tmp_path: Path, *programs: str) -> str:
    """A PATH of one folder holding links to `programs` alone (the machine's own copies)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for program in programs:
        found = shutil.which(program)
        assert found is not None, program
        (folder / program).symlink_to(found)
    return str(folder)


def run_test_script(path: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/bin/bash", str(REPOSITORY / "scripts" / "test"), "--collect-only", "-q"],
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_list_names_what_the_tests_run() -> None:
    assert listed_programs() == ["ffmpeg", "ffprobe", "nice"]


def test_a_missing_program_is_named_before_the_suite_starts(tmp_path: Path) -> None:
    # Everything the script itself needs, and nice, but neither ffmpeg nor ffprobe.
    result = run_test_script(path_with_only(tmp_path, "dirname", "nice"))
    assert result.returncode == 1
    assert result.stdout == ""  # pytest never started
    assert "the tests need ffmpeg ffprobe on PATH: run scripts/setup" in result.stderr
