"""Fixtures for the command-line tests: a seeded SQLite database and a CLI runner.

The seed writes through the store's own API (not through import), so export/import tests
check portability against data they did not produce themselves. Rewards, reflections,
patterns and a heuristic are built explicitly, so these tests do not depend on how the
learning pipeline scores episodes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest

from memory_core.models import (
    DecisionPoint,
    Episode,
    ErrorRecovery,
    ExecutionResult,
    ExecutionStep,
    Heuristic,
    OutcomeStats,
    Pattern,
    PatternEffectiveness,
    Reflection,
    RewardScore,
    TaskContext,
    TaskOutcome,
    TaskType,
    ToolSequence,
)
from memory_core.storage import SQLAlchemyEpisodeStore, WriteBatch

NAMESPACE = "cli-test"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
DOMAINS = ("web-api", "data-pipeline", "cli-tools")
TYPES = (TaskType.DEBUGGING, TaskType.CODE_GENERATION, TaskType.TESTING)


@dataclass
class Seeded:
    """Ids of what the seed wrote."""

    url: str
    namespace: str
    episode_ids: list[UUID] = field(default_factory=list)
    failed_ids: list[UUID] = field(default_factory=list)
    pattern_ids: list[UUID] = field(default_factory=list)
    in_flight_id: UUID | None = None


def _reward(total: float) -> RewardScore:
    return RewardScore(
        total=total,
        base=1.0 if total > 0.5 else 0.0,
        efficiency=0.9,
        complexity_bonus=1.1,
        quality_multiplier=1.0,
        learning_bonus=0.05,
        raw_reward=total,
        normalized_reward=total,
        decayed_reward=total,
        effective_reward=total,
    )


def _episode(index: int) -> Episode:
    domain = DOMAINS[index % 3]
    task_type = TYPES[index % 3]
    start = T0 + timedelta(hours=7 * index)
    # later episodes succeed more often: a visible learning curve
    ok = index % 4 != 0 if index >= 12 else index % 2 == 0
    steps = [
        ExecutionStep(
            step_number=1,
            timestamp=start + timedelta(seconds=5),
            tool="pytest",
            action="run the failing test",
            parameters={"path": f"tests/test_{index}.py", "flags": ["-x"]},
            result=ExecutionResult.error("AssertionError: expected 200, got 401"),
            latency_ms=812.5,
        ),
        ExecutionStep(
            step_number=2,
            timestamp=start + timedelta(seconds=40),
            tool="editor",
            action="fix the token check",
            result=ExecutionResult.success("patched auth.py"),
            latency_ms=95.25,
            tokens_used=420,
            metadata={"file": "auth.py"},
        ),
        ExecutionStep(
            step_number=3,
            timestamp=start + timedelta(seconds=70),
            tool="pytest",
            action="verify the fix",
            result=ExecutionResult.success("1 passed") if ok else ExecutionResult.timeout(),
            latency_ms=640.0,
        ),
    ]
    outcome = (
        TaskOutcome.success("the test passes", artifacts=["auth.py"])
        if ok
        else TaskOutcome.failure("verification timed out", error_details="TimeoutError")
    )
    reflection = Reflection(
        successes=["Recovered from the assertion error by editing the token check."] if ok else [],
        improvements=[] if ok else [f"Run the slow suite with a longer timeout (case {index})."],
        insights=["pytest -> editor -> pytest works for auth failures."],
        generated_at=start + timedelta(minutes=2),
    )
    return Episode(
        task_type=task_type,
        task_description=f"Fix the failing auth test number {index} in the {domain} service",
        context=TaskContext(
            language="python", framework="fastapi", domain=domain, tags=["auth", f"case-{index}"]
        ),
        start_time=start,
        end_time=start + timedelta(minutes=2, microseconds=index),
        steps=steps,
        outcome=outcome,
        reward=_reward(round(0.35 + 0.6 * ok + 0.01 * index, 6)),
        reflection=reflection,
        metadata={"run": str(index)},
    )


def _patterns(evidence: Sequence[UUID]) -> list[Pattern]:
    made = T0 + timedelta(days=1)
    effectiveness = PatternEffectiveness(
        times_retrieved=7,
        times_applied=4,
        success_when_applied=3,
        failure_when_applied=1,
        avg_reward_delta=0.125,
        last_used=made + timedelta(days=2),
        created_at=made,
    )
    ctx = TaskContext(language="python", domain="web-api", tags=["auth"])
    return [
        ToolSequence(
            context=ctx,
            evidence=list(evidence[:4]),
            occurrence_count=6,
            effectiveness=effectiveness,
            created_at=made,
            updated_at=made + timedelta(hours=1),
            tools=["pytest", "editor", "pytest"],
            success_rate=0.75,
            avg_latency_ms=515.9,
        ),
        ErrorRecovery(
            context=ctx,
            evidence=list(evidence[1:3]),
            occurrence_count=3,
            created_at=made,
            updated_at=made + timedelta(hours=2),
            error_type="AssertionError: expected 200, got 401",
            recovery_steps=["editor: fix the token check", "pytest: verify the fix"],
            success_rate=0.6666666666666666,
        ),
        DecisionPoint(
            context=TaskContext(domain="data-pipeline"),
            evidence=list(evidence[2:5]),
            occurrence_count=2,
            created_at=made,
            updated_at=made + timedelta(hours=3),
            condition="the test times out",
            action="rerun with a longer timeout",
            outcome_stats=OutcomeStats(
                success_count=1, failure_count=1, total_count=2, avg_duration_secs=61.5
            ),
        ),
    ]


def seed_database(url: str, namespace: str = NAMESPACE, count: int = 30) -> Seeded:
    """Write ``count`` completed episodes, one in-flight episode, 3 patterns and a heuristic."""
    seeded = Seeded(url=url, namespace=namespace)
    store = SQLAlchemyEpisodeStore(url)
    try:
        episodes = [_episode(i) for i in range(count)]
        store.write(namespace, WriteBatch(completed=episodes))
        seeded.episode_ids = [e.episode_id for e in episodes]
        seeded.failed_ids = [
            e.episode_id for e in episodes if e.outcome and e.outcome.kind == "failure"
        ]
        in_flight = Episode(
            task_description="Refactor the settings loader",
            task_type=TaskType.REFACTORING,
            start_time=T0 + timedelta(days=20),
            steps=[
                ExecutionStep(
                    step_number=1,
                    timestamp=T0 + timedelta(days=20, seconds=3),
                    tool="grep",
                    action="find the loader",
                )
            ],
        )
        store.write(namespace, WriteBatch(new_episodes=[in_flight]))
        seeded.in_flight_id = in_flight.episode_id
        patterns = _patterns(seeded.episode_ids)
        for pattern in patterns:
            for episode_id in pattern.evidence:
                store.merge_patterns(
                    namespace,
                    episode_id,
                    [pattern],
                    lambda new, stored: next(
                        (s for s in stored if s.pattern_id == new.pattern_id), None
                    ),
                )
        seeded.pattern_ids = [p.pattern_id for p in patterns]
        for episode in episodes[:-2]:  # the last two are still waiting for extraction
            fed = [p.pattern_id for p in patterns if episode.episode_id in p.evidence]
            store.mark_learned(namespace, episode.episode_id, fed)
        store.merge_heuristics(
            namespace,
            [
                Heuristic(
                    condition="an auth test fails with 401",
                    action="check the token expiry comparison first",
                    context=TaskContext(domain="web-api"),
                    evidence=seeded.episode_ids[:3],
                    success_count=2,
                    sample_size=3,
                    created_at=T0,
                    updated_at=T0 + timedelta(days=1),
                )
            ],
            lambda new, stored: None,
        )
    finally:
        store.close()
    return seeded


@dataclass
class Result:
    """A finished CLI run."""

    code: int
    stdout: str
    stderr: str


class Cli:
    """Runs the real ``memory-core`` console entry point in a subprocess."""

    def __init__(self, url: str, namespace: str, env: dict[str, str]) -> None:
        self.url = url
        self.namespace = namespace
        self.env = env

    def raw(self, *args: str, env: dict[str, str] | None = None) -> Result:
        """Run ``python -m memory_core ARGS`` with no implicit options."""
        proc = subprocess.run(
            [sys.executable, "-m", "memory_core", *args],
            capture_output=True,
            text=True,
            env={**self.env, **(env or {})},
            timeout=120,
            check=False,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def __call__(self, *args: str) -> Result:
        """Run a command against the test database and namespace."""
        return self.raw("--database-url", self.url, "--namespace", self.namespace, *args)

    def many(self, *commands: Sequence[str]) -> list[Result]:
        """Run independent commands concurrently (each in its own process), in order."""
        with ThreadPoolExecutor(max_workers=4) as pool:
            return list(pool.map(lambda args: self(*args), commands))

    def many_raw(self, *commands: Sequence[str]) -> list[Result]:
        """Like `many`, without the implicit database and namespace options."""
        with ThreadPoolExecutor(max_workers=4) as pool:
            return list(pool.map(lambda args: self.raw(*args), commands))


def clean_env(home: Path) -> dict[str, str]:
    """The environment for CLI runs: no MEMORY_CORE_* leaking in, wide output, no colours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMORY_CORE_")}
    env.update(
        MEMORY_CORE_HOME=str(home),
        MEMORY_CORE_LOAD_PLUGINS="false",
        COLUMNS="200",
        NO_COLOR="1",
        TERM="dumb",
    )
    return env


def assert_clean_error(result: Result, *fragments: str) -> str:
    """Assert a run failed with exactly one ``error: ...`` line and no traceback."""
    assert result.code != 0, result
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """A clean environment whose default database lives under tmp_path."""
    return clean_env(tmp_path / "home")


@pytest.fixture
def seeded(sqlite_url: str) -> Seeded:
    """A SQLite database holding the seed data in namespace ``cli-test``."""
    return seed_database(sqlite_url)


@pytest.fixture
def cli(seeded: Seeded, cli_env: dict[str, str]) -> Cli:
    """The CLI bound to the seeded database."""
    return Cli(seeded.url, seeded.namespace, cli_env)


@pytest.fixture(scope="module")
def shared_seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    """One seeded SQLite database shared by a module's read-only tests."""
    folder = tmp_path_factory.mktemp("shared")
    return seed_database(f"sqlite:///{folder / 'memory.db'}")


@pytest.fixture(scope="module")
def shared_cli(shared_seeded: Seeded, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """The CLI bound to the shared seeded database."""
    home = tmp_path_factory.mktemp("home")
    return Cli(shared_seeded.url, shared_seeded.namespace, clean_env(home))


@pytest.fixture
def check_error() -> Callable[..., str]:
    """`assert_clean_error`, for the test modules."""
    return assert_clean_error


@pytest.fixture
def seed() -> Callable[..., Seeded]:
    """`seed_database`, for the test modules."""
    return seed_database


@pytest.fixture
def make_cli(cli_env: dict[str, str]) -> Callable[[str, str], Cli]:
    """Build a CLI bound to another database URL and namespace."""

    def build(url: str, namespace: str = NAMESPACE) -> Cli:
        return Cli(url, namespace, cli_env)

    return build
