"""The README's usage examples (the seed API in Python) run unchanged, async and sync.

The code blocks are read from README.md itself, so the README cannot drift from the API.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def _python_block(heading: str) -> str:
    """The first ```python block after ``heading`` in the README."""
    text = README.read_text()
    start = text.index(heading)
    match = re.compile(r"```python\n(.*?)```", re.S).search(text, start)
    assert match is not None, f"no python block after {heading!r}"
    return match.group(1)


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run examples in an empty directory with the default database under it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEMORY_CORE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MEMORY_CORE_LOAD_PLUGINS", "0")
    return tmp_path


def test_async_seed_example_runs(sandbox: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = _python_block("### Async (the seed API)")
    assert "asyncio.run(main())" in code
    exec(compile(code, "README.md (async example)", "exec"), {"__name__": "__main__"})
    out = capsys.readouterr().out.splitlines()
    assert out, "the example prints what it recorded and retrieved"
    assert out[0].startswith("RewardScore(") or out[0].startswith("total=")
    assert any("Fix the failing login test" in line for line in out[1:])
    assert (sandbox / "home" / "memory.db").is_file()  # the default embedded database


def test_sync_example_runs(sandbox: Path) -> None:
    code = _python_block("### Sync")
    exec(compile(code, "README.md (sync example)", "exec"), {"__name__": "__main__"})
    assert (sandbox / "agent-memory.db").is_file()

    from memory_core import MemoryConfig, SyncSelfLearningMemory

    config = MemoryConfig(database_url="sqlite:///agent-memory.db", load_plugins=False)
    with SyncSelfLearningMemory(config) as memory:
        [episode] = memory.list_episodes()
    assert episode.task_description == "Summarise the incident report"
    assert [s.tool for s in episode.steps] == ["reader"]
    assert episode.outcome is not None
    assert episode.outcome.kind == "success"
    assert episode.is_complete


def test_async_example_twice_learns_from_the_first_run(sandbox: Path) -> None:
    """A second run against the same default database retrieves the first run's episode."""
    code = compile(_python_block("### Async (the seed API)"), "README.md", "exec")
    exec(code, {"__name__": "__main__"})
    exec(code, {"__name__": "__main__"})

    from memory_core import MemoryConfig, SyncSelfLearningMemory

    with SyncSelfLearningMemory(MemoryConfig(load_plugins=False)) as memory:
        episodes = memory.list_episodes()
        assert len(episodes) == 2
        assert all(e.is_complete and e.reward is not None for e in episodes)
        assert memory.list_patterns()
