"""Retention under a long stream: 100,000 episodes into a namespace capped at 10,000.

Episodes go through the public API (start, four steps, complete) with background learning
and background pruning (``RetentionConfig(max_episodes=...)``), on a SQLite file. Every
10,000 episodes the stream pauses: learning is waited for, the background pruner is given
time to bring the namespace back under its cap, and the script prints

* the completed-episode count before and after that settling (the cap must hold after),
* the database file size (main file + WAL), which must stay flat once the cap is reached:
  from the checkpoint at three times the cap on (the first after a whole pruning cycle with
  the change feed trimmed), the last size may not exceed the first by more than 10 %,
* ``search_episodes`` p50/p95 over fresh queries, which must stay flat too: wall-clock time
  as a caller sees it, and the p95 of the searching thread's CPU time, which other jobs on
  a busy machine do not inflate,
* whether learned patterns are still correct: every learned episode was counted once into
  a tool-sequence pattern, so the patterns' counts must add up to the episodes learned,
  pruned ones included.

The script exits non-zero if the cap, the pattern counts or (in the full run) the flat file
do not hold.

    python benchmarks/retention.py [--quick]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from _bench import Row, parse_args, print_table, summarize
from _workload import Workload

from memory_core import MemoryConfig, RetentionConfig, SyncSelfLearningMemory


def _file_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def _pattern_total(memory: SyncSelfLearningMemory) -> int:
    return sum(p.occurrence_count for p in memory.list_patterns(kind="tool_sequence", limit=None))


def _settle(memory: SyncSelfLearningMemory, cap: int, timeout: float = 120.0) -> int:
    """Wait for learning, then for the background pruner; return the count before it."""
    memory.wait_for_learning()
    before = memory.stats().episodes_completed
    deadline = time.monotonic() + timeout
    while memory.stats().episodes_completed > cap and time.monotonic() < deadline:
        time.sleep(0.05)
    return before


def main() -> int:
    """Run the stream and print a table per checkpoint."""
    args = parse_args(__doc__.splitlines()[0])
    total, cap, every, queries = (
        (1_500, 150, 500, 50) if args.quick else (100_000, 10_000, 10_000, 200)
    )
    workload = Workload()
    ok = True
    rows: list[Row] = []
    sizes: dict[int, int] = {}
    print(
        f"streaming {total:,} episodes into a namespace capped at {cap:,} "
        "(public API, background learning and pruning, SQLite file)"
    )
    print(
        "\n| streamed | completed before settling | after | file | search p50 | p95 "
        "| p95 CPU | patterns | pattern counts = learned |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "retention.db"
        config = MemoryConfig(
            database_url=f"sqlite:///{path}",
            load_plugins=False,
            retention=RetentionConfig(max_episodes=cap, prune_interval_seconds=1.0),
        )
        started = time.perf_counter()
        with SyncSelfLearningMemory(config, namespace="stream") as memory:
            for streamed in range(1, total + 1):
                task = workload.task()
                episode_id = memory.start_episode(
                    task.description, task.context, task.family.task_type
                )
                for step in task.steps:
                    memory.log_step(episode_id, step)
                memory.complete_episode(episode_id, task.outcome)
                if streamed % every:
                    continue
                before = _settle(memory, cap)
                after = memory.stats().episodes_completed
                timings, cpu = [], []
                for _ in range(queries):
                    text, context = workload.query()
                    t0, c0 = time.perf_counter(), time.thread_time()
                    memory.search_episodes(text, context, limit=5)
                    timings.append(time.perf_counter() - t0)
                    cpu.append(time.thread_time() - c0)
                row = summarize("search_episodes", f"{streamed:,} streamed", timings, sum(timings))
                cpu_p95 = summarize("cpu", "", cpu, sum(cpu)).p95_us
                rows.append(row)
                counted = _pattern_total(memory)
                patterns = len(memory.list_patterns(limit=None))
                counts_ok = counted == streamed
                sizes[streamed] = _file_size(path)
                ok = ok and counts_ok and after <= cap
                print(
                    f"| {streamed:,} | {before:,} | {after:,} "
                    f"| {sizes[streamed] / 1e6:.1f} MB | {row.p50_us / 1e3:.2f} ms "
                    f"| {row.p95_us / 1e3:.2f} ms | {cpu_p95 / 1e3:.2f} ms | {patterns:,} "
                    f"| {'yes' if counts_ok else f'NO ({counted:,})'} |",
                    flush=True,
                )
            elapsed = time.perf_counter() - started
        print(f"\nstream of {total:,} episodes took {elapsed:.0f} s ({total / elapsed:,.0f}/s)")
    print_table(f"retrieval while streaming {total:,} into {cap:,}", rows)
    if not ok:
        print("FAILED: the cap or the pattern counts did not hold", file=sys.stderr)
        return 1
    settled = [size for streamed, size in sizes.items() if streamed >= 3 * cap]
    if not args.quick and settled:
        growth = settled[-1] / settled[0] - 1
        print(f"file growth from {3 * cap:,} streamed to the end: {growth:+.1%}")
        if growth > 0.10:
            print("FAILED: the database file did not stay flat", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
