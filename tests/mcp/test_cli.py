"""``memory-core mcp`` refuses unsafe or meaningless options, and says what to install when
the SDK is missing."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from tests.support.mcp_server import server_env

from memory_core.cli import main

# The real console entry point with the SDK made unimportable, as if the extra were not
# installed (a None entry in sys.modules makes `import mcp` raise ImportError).
WITHOUT_SDK = (
    "import sys; sys.modules['mcp'] = None; from memory_core.cli import main; main(sys.argv[1:])"
)


def _error_line(code: int, stdout: str, stderr: str) -> str:
    assert code == 1, stderr
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), lines[0]
    assert stdout == ""
    return lines[0]


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--http", "--host", "0.0.0.0"], ["binding '0.0.0.0' exposes the memory", "--token"]),
        (["--http", "--host", "::"], ["binding '::'", "--token"]),
        (["--http", "--host", "192.0.2.1", "--token", " "], ["--token must not be empty"]),
        (["--port", "9000"], ["--host and --port apply to --http only"]),
        (["--http", "--port", "70000"], ["--port 70000 is not a TCP port"]),
        (["--log-level", "LOUD"], ["--log-level 'LOUD' is not a level"]),
    ],
)
def test_refused_options(
    args: list[str],
    fragments: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MEMORY_CORE_MCP_TOKEN", raising=False)
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    with pytest.raises(SystemExit) as exit_info:
        main(["--database-url", url, "mcp", *args])
    captured = capsys.readouterr()
    line = _error_line(int(exit_info.value.code or 0), captured.out, captured.err)
    for fragment in fragments:
        assert fragment in line, line
    assert not (tmp_path / "memory.db").exists(), "nothing is opened for a refused command"


def test_without_the_sdk_the_command_names_the_extra_and_the_rest_works(tmp_path: Path) -> None:
    env = server_env(tmp_path / "home")
    url = f"sqlite:///{tmp_path / 'memory.db'}"
    runs = [["mcp"], ["stats", "--json"]]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(
            pool.map(
                lambda args: subprocess.run(
                    [sys.executable, "-c", WITHOUT_SDK, "--database-url", url, *args],
                    capture_output=True,
                    text=True,
                    env=env,
                    timeout=120,
                    check=False,
                    stdin=subprocess.DEVNULL,
                ),
                runs,
            )
        )
    serve, stats = results
    line = _error_line(serve.returncode, serve.stdout, serve.stderr)
    assert "MCP Python SDK" in line
    assert "python -m pip install 'memory-core[mcp]'" in line
    assert stats.returncode == 0, stats.stderr
    assert '"episodes_total": 0' in stats.stdout
