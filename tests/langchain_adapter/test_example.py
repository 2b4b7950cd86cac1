"""The LangChain example runs offline and shows the later runs improving."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "langchain_agent.py"


def test_langchain_example_runs(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), "--db", str(tmp_path / "memory.db")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "later runs avoided the first run's error: yes" in done.stdout
    assert "Recovered: deploy failed" in done.stdout
    assert (tmp_path / "memory.db").exists()
