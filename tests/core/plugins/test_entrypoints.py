"""Entry-point discovery with a really installed plugin package (the shipped example).

The example plugin is pip-installed (editable, no dependencies) for this module and
uninstalled afterwards. Discovery is exercised in fresh interpreters, as users run it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PLUGIN_DIR = ROOT / "examples" / "plugins" / "memory-core-example-plugin"

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from memory_core import (
        ExecutionResult, ExecutionStep, MemoryConfig, SyncSelfLearningMemory, TaskContext,
        TaskOutcome,
    )
    config = MemoryConfig(database_url=sys.argv[1])
    with SyncSelfLearningMemory(config) as memory:
        eid = memory.start_episode("Build the report", TaskContext(domain="reports"))
        memory.log_step(eid, ExecutionStep(tool="warehouse-query", action="run the big query",
                                           result=ExecutionResult.success("rows"), latency_ms=4200))
        memory.log_step(eid, ExecutionStep(tool="render", action="render the pdf",
                                           result=ExecutionResult.success("pdf"), latency_ms=30))
        memory.complete_episode(eid, TaskOutcome.success("report built"))
        memory.wait_for_learning()
        slow = [p for p in memory.list_patterns(kind="decision_point")
                if p.condition.endswith("is slow")]
        retrieved = memory.retrieve_relevant_patterns(TaskContext(domain="reports"), limit=50)
        print(json.dumps({
            "plugins": sorted(n for n, _ in memory.plugin_manager.list_name_plugin()),
            "slow": [p.condition for p in slow],
            "retrieved": [str(p.pattern_id) for p in retrieved],
            "slow_ids": [str(p.pattern_id) for p in slow],
        }))
    """
)


def _pip(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args],
        check=True,
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="module")
def installed_plugin() -> Iterator[None]:
    _pip("install", "--no-deps", "--no-build-isolation", "-e", str(PLUGIN_DIR))
    try:
        yield
    finally:
        _pip("uninstall", "-y", "memory-core-example-plugin")


def _run(db: Path, env: dict[str, str] | None = None) -> dict[str, list[str]]:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, f"sqlite:///{db}"],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.usefixtures("installed_plugin")
def test_example_plugin_discovered_and_its_patterns_stored(tmp_path: Path) -> None:
    log = tmp_path / "events.log"
    out = _run(tmp_path / "m.db", {"MEMORY_CORE_EXAMPLE_LOG": str(log)})
    assert "example" in out["plugins"]
    assert out["slow"] == ["tool warehouse-query is slow"]
    assert set(out["slow_ids"]) <= set(out["retrieved"])
    events = log.read_text().split()
    assert events.count("episode_started") == 1
    assert events.count("step_logged") == 2
    assert events.count("episode_completed") == 1
    assert events.count("patterns_learned") == 1


@pytest.mark.usefixtures("installed_plugin")
def test_plugin_loading_can_be_switched_off(tmp_path: Path) -> None:
    out = _run(tmp_path / "m.db", {"MEMORY_CORE_LOAD_PLUGINS": "0"})
    assert "example" not in out["plugins"]
    assert out["slow"] == []


def test_broken_entry_point_is_skipped_and_named(tmp_path: Path) -> None:
    site = tmp_path / "site"
    dist = site / "broken_plugin-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[memory_core]\nbroken = no_such_module_anywhere\n")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, f"sqlite:///{tmp_path / 'm.db'}"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "'broken'" in result.stderr
    assert "failed to load" in result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert "broken" not in out["plugins"]
