"""Import and export throughput on SQLite (and PostgreSQL when configured).

Writes a synthetic export of N episodes (4 steps each, with reward and reflection), imports
it into an empty database with the CLI's progress bar, imports it again (idempotent: all
skipped), and exports it back. Target: at least 5,000 episodes/s for the import on SQLite.

    python benchmarks/import_export.py            # 100,000 episodes
    python benchmarks/import_export.py --quick    # 500 episodes, a smoke run

Set MEMORY_CORE_TEST_POSTGRES_URL to add PostgreSQL rows.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _bench import Row, parse_args, print_table, summarize

from memory_core import MemoryConfig, SyncSelfLearningMemory
from memory_core.cli._common import make_progress
from memory_core.models import (
    Episode,
    ExecutionResult,
    ExecutionStep,
    Reflection,
    RewardScore,
    TaskContext,
    TaskOutcome,
    TaskType,
)
from memory_core.portability import (
    EpisodeRecord,
    ExportCounts,
    ExportHeader,
    ExportSummary,
    ImportReport,
    export_jsonl,
    import_jsonl,
)

BATCH = 2_000
DOMAINS = ["web-api", "data-pipeline", "cli-tools", "infra", "frontend"]
TYPES = [TaskType.DEBUGGING, TaskType.CODE_GENERATION, TaskType.TESTING, TaskType.REFACTORING]


def _template() -> dict[str, object]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    steps = [
        ExecutionStep(
            step_number=i + 1,
            timestamp=start + timedelta(seconds=10 * i),
            tool=tool,
            action=action,
            parameters={"path": "src/app.py"},
            result=ExecutionResult.error("AssertionError: expected 200, got 401")
            if i == 0
            else ExecutionResult.success("ok"),
            latency_ms=120.0 + i,
        )
        for i, (tool, action) in enumerate(
            [
                ("pytest", "run the failing test"),
                ("grep", "search for the handler"),
                ("editor", "fix the check"),
                ("pytest", "verify the fix"),
            ]
        )
    ]
    episode = Episode(
        task_description="Fix the failing login test",
        context=TaskContext(language="python", framework="fastapi", domain="web-api"),
        start_time=start,
        end_time=start + timedelta(minutes=2),
        steps=steps,
        outcome=TaskOutcome.success("test passes"),
        reward=RewardScore(
            total=0.9,
            base=1.0,
            efficiency=0.85,
            complexity_bonus=1.1,
            quality_multiplier=1.0,
            learning_bonus=0.0,
            raw_reward=0.9,
            normalized_reward=0.9,
            decayed_reward=0.9,
            effective_reward=0.9,
        ),
        reflection=Reflection(
            successes=["Recovered from the assertion error."],
            insights=["pytest -> editor -> pytest works."],
            generated_at=start,
        ),
    )
    return json.loads(EpisodeRecord(learned=True, episode=episode).model_dump_json())


def write_synthetic_export(path: Path, count: int) -> None:
    """An export file of ``count`` varied episodes (valid records, unique ids)."""
    template = _template()
    base = datetime(2026, 1, 1, tzinfo=UTC)
    header = ExportHeader(
        namespace="bench", counts=ExportCounts(episodes=count), exported_at=datetime.now(UTC)
    )
    with path.open("w", encoding="utf-8") as out:
        out.write(header.model_dump_json() + "\n")
        for i in range(count):
            record = json.loads(json.dumps(template))
            episode = record["episode"]
            start = base + timedelta(seconds=37 * i)
            episode["episode_id"] = str(uuid.UUID(int=i + 1))
            episode["task_type"] = TYPES[i % len(TYPES)].value
            episode["task_description"] = f"Fix the failing test number {i} in module {i % 97}"
            episode["context"]["domain"] = DOMAINS[i % len(DOMAINS)]
            episode["start_time"] = start.isoformat().replace("+00:00", "Z")
            episode["end_time"] = (start + timedelta(minutes=2)).isoformat().replace("+00:00", "Z")
            for n, step in enumerate(episode["steps"]):
                step["timestamp"] = (start + timedelta(seconds=10 * n)).isoformat()
            out.write(json.dumps(record, separators=(",", ":")) + "\n")


@contextmanager
def _timed_batches() -> Iterator[tuple[list[float], Callable[[int], None]]]:
    """Per-record timings spread evenly over each reported batch."""
    timings: list[float] = []
    state = {"done": 0, "at": time.perf_counter()}

    def tick(done: int) -> None:
        now = time.perf_counter()
        size = done - state["done"]
        if size > 0:
            timings.extend([(now - state["at"]) / size] * size)
        state["done"], state["at"] = done, now

    yield timings, tick


def _import(memory: SyncSelfLearningMemory, path: Path, label: str) -> tuple[Row, ImportReport]:
    with make_progress("records") as progress, _timed_batches() as (timings, tick):
        task = progress.add_task(label, total=None)

        def on_progress(done: int) -> None:
            tick(done)
            progress.update(task, completed=done)

        started = time.perf_counter()
        report = import_jsonl(
            memory,
            path,
            batch_size=BATCH,
            on_start=lambda h: progress.update(task, total=h.counts.total),
            on_progress=on_progress,
        )
        total = time.perf_counter() - started
    note = (
        f"{report.imported.episodes:,} imported, {report.skipped.episodes:,} skipped, "
        f"{report.episodes_per_second:,.0f} episodes/s"
    )
    return summarize(label, f"{len(timings):,} episodes", timings, total, note), report


def _export(memory: SyncSelfLearningMemory, path: Path, label: str) -> tuple[Row, ExportSummary]:
    with make_progress("records") as progress, _timed_batches() as (timings, tick):
        task = progress.add_task(label, total=None)

        def on_progress(done: int) -> None:
            tick(done)
            progress.update(task, completed=done)

        summary = export_jsonl(
            memory,
            path,
            batch_size=BATCH,
            on_start=lambda c: progress.update(task, total=c.total),
            on_progress=on_progress,
        )
    size_mb = path.stat().st_size / 1e6
    note = f"{summary.counts.episodes / summary.seconds:,.0f} episodes/s, {size_mb:,.0f} MB"
    return summarize(label, f"{len(timings):,} episodes", timings, summary.seconds, note), summary


def run(url: str, name: str, source: Path, folder: Path) -> list[Row]:
    """Import twice, then export, on one database."""
    config = MemoryConfig(database_url=url, load_plugins=False)
    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        first, report = _import(memory, source, f"import ({name})")
        assert not report.errors, report.errors[:3]
        again, _ = _import(memory, source, f"re-import, all skipped ({name})")
        exported, _ = _export(memory, folder / f"export-{name}.jsonl", f"export ({name})")
    return [first, again, exported]


def main() -> None:
    """Run the benchmark and print the table."""
    args = parse_args(__doc__.splitlines()[0] if __doc__ else "import/export")
    count = 500 if args.quick else int(os.environ.get("BENCH_EPISODES", 100_000))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = folder / "synthetic.jsonl"
        started = time.perf_counter()
        write_synthetic_export(source, count)
        print(
            f"wrote {count:,} synthetic episodes ({source.stat().st_size / 1e6:,.0f} MB) in "
            f"{time.perf_counter() - started:.1f} s"
        )
        rows = run(f"sqlite:///{folder / 'bench.db'}", "SQLite", source, folder)
        postgres = os.environ.get("MEMORY_CORE_TEST_POSTGRES_URL")
        if postgres:
            rows += run(postgres, "PostgreSQL", source, folder)
    print_table(f"Import / export, {count:,} episodes (4 steps each)", rows)


if __name__ == "__main__":
    main()
