"""An agent loop run back to back, as a user lives it, with background learning running.

Each iteration is what an agent does for one task, through the public API with the
default configuration: a top-5 ``search_episodes`` with a fresh query, ``start_episode``,
four ``log_step`` calls and ``complete_episode``. Every call is timed *during* the
sustained loop, while learning runs on its background workers. Tasks come from a seeded
generator (``_workload.py``: ~1,500 families over 30 domains), so thousands of patterns
exist. After the loop, 300 fresh queries are ranked by the memory and by bm25s over the
same task texts, alternately, in the same process.

Rows per backend and size: p50/p95 of every call; end-to-end episodes/s; learning
throughput (episodes learned per second from the first completion until the queue is
empty) and lag (completion to learned, through the ``patterns_learned`` hook), with the
largest learning queue depth seen; retrieval at the final size against bm25s (ratio).

Sizes: 10k and 100k episodes (``--quick``: 300; ``--sizes 10000``). SQLite file in a
temporary directory; with ``MEMORY_CORE_BENCH_POSTGRES_URL`` set, PostgreSQL too (a fresh
namespace per run).

``--gc-freeze`` and ``--switch-interval-ms`` apply what a latency-sensitive host may do for
itself once its memory is open (see `_bench.HostTuning`).

    python benchmarks/agent_loop.py [--quick] [--sizes 10000,100000] [--gc-freeze]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _bench import NO_TUNING, HostTuning, Row, add_learner_option, print_table, summarize
from _workload import Workload

from memory_core import MemoryConfig, SyncSelfLearningMemory, hookimpl

QUERIES = 300
LEARNING_WAIT = 120.0
"""Longest wait for learning to catch up after the loop (the rest is learned on close)."""


class LagProbe:
    """A plugin recording when each episode's learning finished."""

    def __init__(self) -> None:
        self.learned: dict[uuid.UUID, float] = {}
        self._lock = threading.Lock()

    @hookimpl
    def patterns_learned(self, episode: Any, patterns: Any, namespace: str) -> None:
        now = time.perf_counter()
        with self._lock:
            self.learned.setdefault(episode.episode_id, now)


def run(
    url: str,
    label: str,
    size: int,
    namespace: str,
    queue: int | None = None,
    learner: str = "thread",
    host: HostTuning = NO_TUNING,
) -> list[Row]:
    """Run the loop for ``size`` episodes on ``url``; return the table rows.

    ``host``: what the host process does for itself once the memory is open.

    ``queue`` overrides ``learning.queue_size`` (default config otherwise). ``learner``
    ``"process"`` learns in the memory's learner process (``learning.mode = "process"``)
    instead of its background threads.
    """
    import bm25s  # a development dependency, imported where used

    workload = Workload()
    probe = LagProbe()
    timings: dict[str, list[float]] = {
        "search_episodes": [],
        "start_episode": [],
        "log_step": [],
        "complete_episode": [],
    }
    completed_at: dict[uuid.UUID, float] = {}
    texts: list[str] = []
    max_depth = 0
    config = MemoryConfig(database_url=url)
    if queue is not None:
        config = config.model_copy(
            update={"learning": config.learning.model_copy(update={"queue_size": queue})}
        )
    if learner == "process":
        config = config.model_copy(
            update={"learning": config.learning.model_copy(update={"mode": "process"})}
        )
    memory = SyncSelfLearningMemory(config, namespace=namespace, plugins=[probe])
    host.started()
    perf, cpu = time.perf_counter, time.thread_time
    search_cpu: list[float] = []  # the searching thread's own CPU time (no waiting)
    t_start = perf()
    for i in range(size):
        query, query_context = workload.query()
        task = workload.task()
        c0 = cpu()
        t0 = perf()
        memory.search_episodes(query, query_context, 5)
        t1 = perf()
        search_cpu.append(cpu() - c0)
        episode_id = memory.start_episode(task.description, task.context, task.family.task_type)
        t2 = perf()
        timings["search_episodes"].append(t1 - t0)
        timings["start_episode"].append(t2 - t1)
        log = timings["log_step"]
        for step in task.steps:
            t0 = perf()
            memory.log_step(episode_id, step)
            log.append(perf() - t0)
        t0 = perf()
        memory.complete_episode(episode_id, task.outcome)
        t1 = perf()
        timings["complete_episode"].append(t1 - t0)
        completed_at[episode_id] = t1
        texts.append(task.description)
        if i % 250 == 0:
            max_depth = max(max_depth, memory.engine.learning.stats().queued)
    loop_seconds = perf() - t_start
    backlog = memory.engine.learning.stats().queued

    # Retrieval at the final size, side by side with bm25s over the same texts (learning
    # may still be catching up, as it would in a live process).
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(QUERIES):
        query, query_context = workload.query()
        t0 = perf()
        memory.search_episodes(query, query_context, 5)
        t1 = perf()
        tokens = bm25s.tokenize([query], stopwords="en", show_progress=False)
        retriever.retrieve(tokens, k=5, show_progress=False)
        t2 = perf()
        ours.append(t1 - t0)
        theirs.append(t2 - t1)

    caught_up = memory.wait_for_learning(timeout=LEARNING_WAIT)
    left = memory.engine.learning.stats()
    processed = left.processed
    if learner == "process":
        processed = size - len(memory.engine.store.unlearned_episode_ids(namespace))
    learned_all = perf()
    memory.close()
    host.stopped()

    lags = sorted(probe.learned[e] - t for e, t in completed_at.items() if e in probe.learned)
    tag = f"{label}, {size:,}"
    rows = [
        summarize(name, tag, values, sum(values), "during the loop")
        for name, values in timings.items()
    ]
    cpu_row = summarize("search_episodes CPU", tag, search_cpu, sum(search_cpu))
    rows[0].note += (
        f"; its own CPU p50 / p95 {cpu_row.p50_us / 1000:.2f} / {cpu_row.p95_us / 1000:.2f} ms"
        " (the rest: waiting for the interpreter or a core)"
    )
    loop_row = summarize("episode (whole loop)", tag, [loop_seconds / size], loop_seconds)
    loop_row.ops_per_s = size / loop_seconds
    loop_row.note = "end to end: search, start, 4 steps, complete"
    rows.append(loop_row)
    learn_seconds = learned_all - t_start
    lag_row = summarize("learning lag", tag, lags or [0.0], learn_seconds, "completion -> learned")
    lag_row.ops_per_s = processed / learn_seconds
    lag_row.note = (
        "learned/s over the run, in the memory's learner process (lag not measured)"
        if learner == "process"
        else f"learned/s over the run; {len(lags):,} learned; queue max {max_depth:,}, "
        f"{backlog:,} left at loop end"
        + ("" if caught_up else f", {left.queued + left.in_flight:,} after {LEARNING_WAIT:g} s")
    )
    rows.append(lag_row)
    ours_row = summarize("search_episodes top-5", tag, ours, sum(ours), "after the loop")
    bm25_row = summarize("bm25s top-5", tag, theirs, sum(theirs), "same texts, same run")
    ratio = ours_row.p95_us / bm25_row.p95_us if bm25_row.p95_us else float("inf")
    p50_ratio = ours_row.p50_us / bm25_row.p50_us if bm25_row.p50_us else float("inf")
    ours_row.note = f"{p50_ratio:.1f}x / {ratio:.1f}x bm25s (p50 / p95)"
    rows += [ours_row, bm25_row]
    return rows


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few hundred episodes")
    parser.add_argument("--sizes", default="", help="comma-separated episode counts")
    parser.add_argument("--backend", choices=["all", "sqlite", "postgresql"], default="all")
    add_learner_option(parser)
    parser.add_argument(
        "--learning-queue",
        type=int,
        default=None,
        help="learning.queue_size (default: the default config's); a larger queue lets "
        "learning lag behind instead of slowing the loop down",
    )
    HostTuning.add_options(parser)
    return parser.parse_args()


def main() -> None:
    args = parse()
    sizes: Sequence[int] = [300] if args.quick else [10_000, 100_000]
    if args.sizes:
        sizes = [int(s) for s in args.sizes.split(",")]
    postgres = os.environ.get("MEMORY_CORE_BENCH_POSTGRES_URL")
    host = HostTuning.from_args(args)
    for size in sizes:
        rows: list[Row] = []
        if args.backend in ("all", "sqlite"):
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite:///{Path(tmp) / 'loop.db'}"
                rows += run(url, "SQLite", size, "loop", args.learning_queue, args.learner, host)
        if postgres and args.backend in ("all", "postgresql"):
            rows += run(
                postgres,
                "PostgreSQL",
                size,
                f"loop-{uuid.uuid4().hex[:8]}",
                args.learning_queue,
                args.learner,
                host,
            )
        setting = (
            "default config"
            if args.learning_queue is None
            else f"learning.queue_size={args.learning_queue:,}"
        )
        if args.learner == "process":
            setting += ', learning.mode="process"'
        if host.describe():
            setting += f"; {host.describe()}"
        print_table(f"Agent loop, {size:,} episodes back to back ({setting})", rows)


if __name__ == "__main__":
    main()
