"""``memory-core ui``: what it refuses before serving, and its help."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support.ui_seed import Seeded

from memory_core.cli.ui import is_loopback


def run_ui(seeded: Seeded, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"MEMORY_CORE_HOME": str(home), "MEMORY_CORE_LOAD_PLUGINS": "false", "NO_COLOR": "1"}
    env.update({k: v for k, v in os.environ.items() if k in ("PATH", "PYTHONPATH")})
    return subprocess.run(
        [sys.executable, "-m", "memory_core", "--database-url", seeded.url, "ui", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def assert_one_error_line(run: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert run.returncode == 1, run
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--host", "0.0.0.0"], ["not a loopback address", "--token"]),
        (["--host", "192.0.2.10", "--port", "1"], ["not a loopback address"]),
        (["--token", "short"], ["--token is too short"]),
    ],
)
def test_refusals(seeded: Seeded, tmp_path: Path, args: list[str], fragments: list[str]) -> None:
    assert_one_error_line(run_ui(seeded, tmp_path, *args), *fragments)


def test_a_busy_port_is_a_clear_error(seeded: Seeded, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        run = run_ui(seeded, tmp_path, "--port", str(port))
    assert_one_error_line(run, f"cannot listen on 127.0.0.1:{port}", "--port")


def test_help_lists_the_options(seeded: Seeded, tmp_path: Path) -> None:
    run = run_ui(seeded, tmp_path, "--help")
    assert run.returncode == 0
    for option in ("--host", "--port", "--open", "--allow-writes", "--token"):
        assert option in run.stdout


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.20", False),
        ("example.com", False),
    ],
)
def test_loopback_addresses(host: str, expected: bool) -> None:
    assert is_loopback(host) is expected
