"""The MCP client example starts the real server over stdio and runs a whole task."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_mcp_client_example_runs(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "mcp_client.py"), f"sqlite:///{tmp_path}/m.db"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("tools: start_episode, log_step, complete_episode, search_episodes")
    assert "step 3: pytest -> success" in out
    assert "reward: " in out
    assert "found 'Fix the failing login test': score " in out
    assert "recommended plan: editor -> pytest (support 1)" in out
    assert "completing twice: Error executing tool complete_episode: EpisodeAlreadyCompleted" in out
    assert "resource: Fix the failing login test" in out
    assert "Relevant past experience from memory" in out
    assert result.stderr == "", "the server logs nothing below ERROR on a good run"
