"""The core quick-start example runs offline and retrieves what it recorded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quickstart_example_runs(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py"), f"sqlite:///{tmp_path}/q.db"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Relevant past experience from memory" in result.stdout
    assert "why 'Fix the failing login test' ranked" in result.stdout
