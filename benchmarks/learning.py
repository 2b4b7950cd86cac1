"""Cost of the learning step: completion on the caller's thread, and extraction per episode.

Rows, at 10, 20 and 50 steps per episode:

* ``complete_episode`` -- what the caller waits for with background learning: reward,
  reflection, flushing the steps and storing the episode (extraction runs on the worker
  pool and is waited for outside the timed region). Target: p95 <= 1 ms.
* ``assess`` -- reward + reflection alone (pure Python, no I/O).
* ``extract`` -- the four built-in extractors plus heuristic candidates for one episode
  (pure Python, no I/O). Target at 20 steps: p95 <= 500 µs.
* ``learn (extract + merge)`` -- the whole background job for one episode: extraction,
  the merge transactions for patterns and heuristics, and marking the episode learned.
* ``sustained learning`` -- 10,000 stored, unlearned episodes of 600 task families over 50
  domains (so that over 1,000 patterns get stored) learned by `learn_pending`: batches of
  ``learning.batch_size`` episodes, one transaction each, merges and learned marks
  included. p50/p95 are per batch; ops/s and the note give episodes per second and the
  amortised time per episode. Target: >= 1,000 episodes/s (<= 1 ms per episode).

Everything runs on a SQLite file in a temporary directory; the sustained row also runs on
PostgreSQL when ``MEMORY_CORE_BENCH_POSTGRES_URL`` is set (a fresh namespace each run).

    python benchmarks/learning.py [--quick]
"""

from __future__ import annotations

import gc
import os
import random
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

from _bench import Row, measure, parse_args, print_table, summarize

from memory_core import (
    Episode,
    ExecutionResult,
    ExecutionStep,
    LearningConfig,
    MemoryConfig,
    SQLAlchemyEpisodeStore,
    SyncSelfLearningMemory,
    TaskContext,
    TaskOutcome,
    TaskType,
)
from memory_core.learning import LearningService, LearnReport, heuristic_candidates
from memory_core.models import utcnow
from memory_core.storage import WriteBatch

SIZES = (10, 20, 50)
TOOLS = ["reader", "grep", "editor", "pytest", "git", "http", "shell"]
ACTIONS = [
    "read the failing module",
    "check if the token expired",
    "apply the fix",
    "verify the test passes",
    "run analysis of the logs",
]
CONTEXT = TaskContext(language="python", framework="fastapi", domain="web-api", tags=["auth"])


def _step(index: int, number: int | None = None) -> ExecutionStep:
    ok = index % 6 != 2
    result = (
        ExecutionResult.success("ok")
        if ok
        else ExecutionResult.error(f"AssertionError: expected 200, got {400 + index}")
    )
    return ExecutionStep(
        step_number=number,
        tool=TOOLS[index % len(TOOLS)],
        action=f"{ACTIONS[index % len(ACTIONS)]} ({index})",
        result=result,
        latency_ms=float(10 + index),
    )


def _episode(steps: int) -> Episode:
    start = utcnow()
    return Episode(
        task_type=TaskType.DEBUGGING,
        task_description="Fix the failing login test",
        context=CONTEXT,
        start_time=start,
        end_time=start + timedelta(seconds=12),
        steps=[_step(i, i + 1) for i in range(steps)],
        outcome=TaskOutcome.success("tests pass", ["patch.diff"]),
    )


def bench_completion(directory: Path, steps: int, repeat: int) -> Row:
    """Time ``complete_episode`` alone; steps are logged and learning awaited untimed."""
    config = MemoryConfig(
        database_url=f"sqlite:///{directory / f'complete-{steps}.db'}", load_plugins=False
    )
    timings: list[float] = []
    with SyncSelfLearningMemory(config) as memory:
        for _ in range(repeat + 2):
            eid = memory.start_episode("Fix the failing login test", CONTEXT, TaskType.DEBUGGING)
            for index in range(steps):
                memory.log_step(eid, _step(index))
            memory.flush()
            t0 = time.perf_counter()
            memory.complete_episode(eid, TaskOutcome.success("tests pass"))
            timings.append(time.perf_counter() - t0)
            memory.wait_for_learning()
    timings = timings[2:]  # warm-up
    return summarize(
        "complete_episode (background learning)",
        f"{steps} steps",
        timings,
        sum(timings),
        "target p95 <= 1 ms",
    )


def bench_pure(service: LearningService, steps: int, repeat: int) -> list[Row]:
    """Time reward + reflection, and extraction, on one episode."""
    episode = service.assess(_episode(steps))
    note = "target p95 <= 500 µs" if steps == 20 else ""

    def extract() -> None:
        service.extract(episode)
        heuristic_candidates(episode)

    rows = [
        _timed("assess (reward + reflection)", steps, lambda: service.assess(episode), repeat),
        _timed("extract (4 extractors + heuristics)", steps, extract, repeat),
    ]
    if note:
        rows[1].note = f"{rows[1].note}; {note}"
    return rows


def _timed(operation: str, steps: int, fn: Callable[[], object], repeat: int) -> Row:
    """`measure`, plus the mean CPU time per call in the note (robust on a busy machine)."""
    cpu = time.process_time()
    row = measure(operation, f"{steps} steps", fn, repeat)
    row.note = f"CPU mean {(time.process_time() - cpu) / repeat * 1e6:.0f} µs"
    return row


def bench_learn(directory: Path, steps: int, repeat: int) -> Row:
    """Time the whole background job for one episode (extraction + merge transactions)."""
    config = MemoryConfig(
        database_url=f"sqlite:///{directory / f'learn-{steps}.db'}",
        learning=LearningConfig(background=False),
    )
    store = SQLAlchemyEpisodeStore(config.resolved_database_url)
    service = LearningService(config, store, "bench")
    episodes = [service.assess(_episode(steps)) for _ in range(repeat + 2)]
    store.write("bench", WriteBatch(completed=episodes))
    timings: list[float] = []
    for episode in episodes:
        t0 = time.perf_counter()
        service.submit(episode)
        timings.append(time.perf_counter() - t0)
    assert service.stats().failed == 0
    store.close()
    timings = timings[2:]
    return summarize("learn (extract + merge, SQLite)", f"{steps} steps", timings, sum(timings))


SUSTAINED_TOOLS = [
    f"{verb}_{thing}"
    for verb in ("read", "edit", "run", "check", "query", "deploy")
    for thing in ("file", "db", "cache", "api", "queue")
]
NOUNS = ["token", "cache", "invoice", "schema", "index", "queue", "job", "route", "session"]
ERRORS = ["TimeoutError", "KeyError", "ValueError", "ConnectionError", "PermissionError"]
LANGUAGES = ["python", "go", "typescript", "rust"]


def sustained_episodes(count: int, domains: int = 50, families: int = 12) -> Iterator[Episode]:
    """Completed episodes of ``domains`` x ``families`` task families, round robin (seeded).

    A family has its own four tools and its own decision step; about a third of its
    episodes fail a step and recover, and some tasks fail.
    """
    rng = random.Random(7)
    kinds = [
        (f"domain-{d:02d}", LANGUAGES[d % len(LANGUAGES)], rng.sample(SUSTAINED_TOOLS, 4), f)
        for d in range(domains)
        for f in range(families)
    ]
    start = utcnow() - timedelta(days=1)
    for index in range(count):
        domain, language, tools, family = kinds[index % len(kinds)]
        noun = NOUNS[family % len(NOUNS)]
        broken = rng.random() < 0.3
        steps = []
        for number, tool in enumerate(tools, 1):
            action = f"check if the {noun} {family} is valid" if number == 2 else f"step {number}"
            result = (
                ExecutionResult.error(f"{rng.choice(ERRORS)}: {noun} {index} failed")
                if broken and number == 3
                else ExecutionResult.success("ok")
            )
            steps.append(
                ExecutionStep(
                    step_number=number, tool=tool, action=action, result=result, latency_ms=5.0
                )
            )
        began = start + timedelta(seconds=index)
        yield Episode(
            task_type=TaskType.DEBUGGING,
            task_description=f"fix the {noun} problem in {domain} ({index})",
            context=TaskContext(language=language, domain=domain, tags=[noun]),
            start_time=began,
            end_time=began + timedelta(seconds=3),
            steps=steps,
            outcome=TaskOutcome.success("done")
            if rng.random() < 0.85
            else TaskOutcome.failure("gave up"),
        )


def bench_sustained(url: str, label: str, count: int) -> Row:
    """Store ``count`` unlearned episodes, then time `learn_pending` learning them all."""
    config = MemoryConfig(
        database_url=url, load_plugins=False, learning=LearningConfig(mode="external")
    )
    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    store = SQLAlchemyEpisodeStore(url)
    service = LearningService(config, store, namespace)
    episodes = [service.assess(e) for e in sustained_episodes(count)]
    for start in range(0, count, 500):
        store.write(namespace, WriteBatch(completed=episodes[start : start + 500]))
    # A learner holds only what it learns: the setup's episodes would make every full
    # garbage collection walk them during the timed run.
    del episodes
    gc.collect()
    batch = config.learning.batch_size
    timings: list[float] = []
    reports: list[LearnReport] = []
    started, cpu = time.perf_counter(), time.process_time()
    while True:
        t0 = time.perf_counter()
        report = service.learn_pending(limit=batch)
        if report.episodes_learned == 0:
            break
        timings.append(time.perf_counter() - t0)
        reports.append(report)
    total, cpu = time.perf_counter() - started, time.process_time() - cpu
    learned = sum(r.episodes_learned for r in reports)
    patterns = len(store.list_patterns(namespace))
    assert learned == count
    assert not store.unlearned_episode_ids(namespace)
    store.close()
    row = summarize(f"sustained learning ({label})", f"{count:,} episodes", timings, total)
    row.ops_per_s = learned / total
    row.note = (
        f"{total / learned * 1e3:.2f} ms/episode amortised (this process's CPU: "
        f"{cpu / learned * 1e3:.2f} ms); p50/p95 per batch of {batch}; {patterns:,} patterns "
        "stored; target >= 1,000 episodes/s"
    )
    return row


def main() -> None:
    """Run every row and print the table."""
    args = parse_args(__doc__ or "")
    repeat_io = 5 if args.quick else 200
    repeat_cpu = 20 if args.quick else 2_000
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        service = LearningService(
            MemoryConfig(database_url=f"sqlite:///{directory / 'pure.db'}"),
            store=None,  # type: ignore[arg-type]  # pure calls only: never touches the store
            namespace="bench",
        )
        for steps in SIZES:
            rows.append(bench_completion(directory, steps, repeat_io))
            rows.extend(bench_pure(service, steps, repeat_cpu))
            rows.append(bench_learn(directory, steps, repeat_io))
        sustained = 300 if args.quick else 10_000
        rows.append(bench_sustained(f"sqlite:///{directory / 'sustained.db'}", "SQLite", sustained))
        postgres = os.environ.get("MEMORY_CORE_BENCH_POSTGRES_URL")
        if postgres:
            rows.append(bench_sustained(postgres, "PostgreSQL", sustained))
    print_table("Learning step", rows)


if __name__ == "__main__":
    main()
