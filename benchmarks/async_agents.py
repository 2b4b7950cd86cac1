"""Many async agents on one event loop sharing one `SelfLearningMemory`.

N agents (1, 10, 50) run as coroutines on one event loop, each looping: a top-5
``search_episodes`` with a fresh query, ``start_episode``, four ``log_step`` calls with a
model call before each and before ``complete_episode``. A model call is
``await asyncio.sleep(0)`` by default (agents that never wait: the loop runs saturated),
or ``--think-ms`` on average (exponentially distributed, seeded). Background learning runs
as configured by default. A ticker asking to wake every 5 ms records how late the loop
wakes it (event-loop lag): what every other request served by that loop would feel.

Rows per backend and N: episodes/s, p50/p95 of retrieve, start, log_step and complete, and
the loop lag p95 / max. ``--variant`` compares how the async facade runs blocking work:

* ``facade``: the shipped facade (the memory's own worker thread; completion inline when
  it only queues the write);
* ``to_thread``: every non-trivial call through ``asyncio.to_thread`` (the default
  executor), completion included;
* ``executor4``: like ``facade`` but with a 4-thread executor.

A second table compares database drivers for the same episode writes from N coroutines:
synchronous SQLAlchemy in ``asyncio.to_thread``, SQLAlchemy's asyncio extension
(aiosqlite / psycopg async), and the memory's write-behind batching.

SQLite file in a temporary directory; PostgreSQL too when
``MEMORY_CORE_BENCH_POSTGRES_URL`` is set (a fresh namespace per run).

``--gc-freeze`` and ``--switch-interval-ms`` apply what a latency-sensitive host may do for
itself once started (see `_bench.HostTuning`).

    python benchmarks/async_agents.py [--quick] [--variant facade,to_thread,executor4]
        [--think-ms 40] [--gc-freeze] [--switch-interval-ms 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from _bench import NO_TUNING, HostTuning, Row, add_learner_option, print_table, summarize
from _workload import Workload

from memory_core import MemoryConfig, SelfLearningMemory

P = ParamSpec("P")
R = TypeVar("R")
TICK = 0.005
PREFILL = 500


class ToThreadMemory(SelfLearningMemory):
    """The facade as it was: everything that may block goes through ``asyncio.to_thread``."""

    async def _call(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def complete_episode(self, episode_id: Any, outcome: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(self._engine.complete_episode, episode_id, outcome, **kwargs)


class Executor4Memory(SelfLearningMemory):
    """The facade with a 4-thread executor instead of one worker thread."""

    pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="bench-executor4")

    async def _call(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, lambda: fn(*args, **kwargs))


VARIANTS: dict[str, type[SelfLearningMemory]] = {
    "facade": SelfLearningMemory,
    "to_thread": ToThreadMemory,
    "executor4": Executor4Memory,
}


async def _ticker(lags: list[float], stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        due = loop.time() + TICK
        await asyncio.sleep(TICK)
        lags.append(max(0.0, loop.time() - due))


async def _prefill(memory: SelfLearningMemory, workload: Workload, count: int) -> None:
    for _ in range(count):
        task = workload.task()
        episode_id = await memory.start_episode(
            task.description, task.context, task.family.task_type
        )
        for step in task.steps:
            await memory.log_step(episode_id, step)
        await memory.complete_episode(episode_id, task.outcome)
    await memory.wait_for_learning()


async def run_agents(
    cls: type[SelfLearningMemory],
    url: str,
    namespace: str,
    agents: int,
    episodes: int,
    *,
    host: HostTuning = NO_TUNING,
    think: float = 0.0,
    learner: str = "thread",
) -> tuple[dict[str, list[float]], float, list[float]]:
    """Run ``agents`` coroutines for ``episodes`` episodes in all; return timings.

    ``host``: what the host process does for itself once started (after the prefill).
    ``think``: mean seconds
    a model call takes (before every step and before completing), drawn from an exponential
    distribution (seeded) so that agents do not move in lockstep. ``learner``
    ``"process"``: ``learning.mode = "process"`` instead of the default background threads.
    """
    workload = Workload(seed=agents)
    timings: dict[str, list[float]] = {
        "retrieve": [],
        "start_episode": [],
        "log_step": [],
        "complete_episode": [],
    }
    config = MemoryConfig(database_url=url)
    if learner == "process":
        config.learning.mode = "process"
    memory = cls(config, namespace=namespace)
    await _prefill(memory, workload, PREFILL)
    host.started()
    remaining = [episodes]
    perf = time.perf_counter

    async def agent(number: int) -> None:
        rng = random.Random(number)

        def model_call() -> float:
            return rng.expovariate(1.0 / think) if think > 0 else 0.0

        while remaining[0] > 0:
            remaining[0] -= 1
            query, query_context = workload.query()
            task = workload.task()
            t0 = perf()
            await memory.search_episodes(query, query_context, 5)
            t1 = perf()
            episode_id = await memory.start_episode(
                task.description, task.context, task.family.task_type
            )
            timings["retrieve"].append(t1 - t0)
            timings["start_episode"].append(perf() - t1)
            for step in task.steps:
                await asyncio.sleep(model_call())
                t0 = perf()
                await memory.log_step(episode_id, step)
                timings["log_step"].append(perf() - t0)
            await asyncio.sleep(model_call())
            t0 = perf()
            await memory.complete_episode(episode_id, task.outcome)
            timings["complete_episode"].append(perf() - t0)

    lags: list[float] = []
    stop = asyncio.Event()
    ticker = asyncio.create_task(_ticker(lags, stop))
    t_start = perf()
    await asyncio.gather(*(agent(number) for number in range(agents)))
    elapsed = perf() - t_start
    stop.set()
    await ticker
    await memory.close()
    host.stopped()
    return timings, elapsed, lags


def agent_rows(
    label: str, timings: dict[str, list[float]], elapsed: float, lags: list[float]
) -> list[Row]:
    done = len(timings["complete_episode"])
    rows = [summarize(name, label, values, sum(values)) for name, values in timings.items()]
    lag = summarize("event-loop lag", label, lags or [0.0], elapsed)
    lag.ops_per_s = len(lags) / elapsed
    lag.note = f"max {max(lags, default=0.0) * 1e3:.1f} ms; 5 ms ticker"
    rows.append(lag)
    total = summarize("episodes", label, [elapsed / done], elapsed)
    total.ops_per_s = done / elapsed
    total.note = "end to end, all agents together"
    rows.append(total)
    return rows


# ------------------------------------------------------------- driver comparison

_CREATE = "CREATE TABLE IF NOT EXISTS bench_writes (id VARCHAR(36) PRIMARY KEY, data TEXT NOT NULL)"
_INSERT = "INSERT INTO bench_writes (id, data) VALUES (:id, :data)"


def _episode_rows(n: int) -> list[dict[str, str]]:
    payload = json.dumps({"steps": ["x" * 200] * 4})
    return [{"id": str(uuid.uuid4()), "data": payload} for _ in range(n)]


async def driver_rows(url: str, label: str, agents: int, writes: int) -> list[Row]:
    """Each of ``agents`` coroutines writes episodes (one transaction of 6 rows each)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.ext.asyncio import create_async_engine

    sync_url = url.replace("postgresql://", "postgresql+psycopg://")
    async_url = (
        sync_url.replace("sqlite://", "sqlite+aiosqlite://")
        if url.startswith("sqlite")
        else sync_url
    )
    per_agent = max(1, writes // agents)
    rows: list[Row] = []

    async def measure(name: str, write: Callable[[], Any]) -> None:
        lags: list[float] = []
        stop = asyncio.Event()
        ticker = asyncio.create_task(_ticker(lags, stop))
        timings: list[float] = []

        async def agent() -> None:
            for _ in range(per_agent):
                t0 = time.perf_counter()
                await write()
                timings.append(time.perf_counter() - t0)

        t0 = time.perf_counter()
        await asyncio.gather(*(agent() for _ in range(agents)))
        elapsed = time.perf_counter() - t0
        stop.set()
        await ticker
        row = summarize(name, f"{label}, {agents} coroutines", timings, elapsed)
        row.ops_per_s = len(timings) / elapsed
        row.note = (
            f"loop lag p95 {summarize('', '', lags or [0.0], 1).p95_us / 1e3:.1f} ms, "
            f"max {max(lags, default=0.0) * 1e3:.1f} ms"
        )
        rows.append(row)

    engine = create_engine(
        sync_url, connect_args={"timeout": 60} if url.startswith("sqlite") else {}
    )
    with engine.begin() as connection:
        connection.execute(text(_CREATE))

    def sync_write() -> None:
        with engine.begin() as connection:
            connection.execute(text(_INSERT), _episode_rows(6))

    await measure("write: sync driver in to_thread", lambda: asyncio.to_thread(sync_write))
    engine.dispose()

    async_engine = create_async_engine(async_url)

    async def async_write() -> None:
        async with async_engine.begin() as connection:
            await connection.execute(text(_INSERT), _episode_rows(6))

    await measure("write: asyncio driver", async_write)
    await async_engine.dispose()

    pending: list[dict[str, str]] = []
    flush_engine = create_engine(
        sync_url, connect_args={"timeout": 60} if url.startswith("sqlite") else {}
    )

    async def batched_write() -> None:  # what the write-behind buffer does
        pending.extend(_episode_rows(6))

    flusher_stop = asyncio.Event()

    async def flusher() -> None:
        while not flusher_stop.is_set():
            await asyncio.sleep(0.1)
            batch, pending[:] = list(pending), []
            if batch:
                await asyncio.to_thread(_write_all, flush_engine, batch)

    task = asyncio.create_task(flusher())
    await measure("write: batched (write-behind)", batched_write)
    flusher_stop.set()
    await task
    flush_engine.dispose()
    return rows


def _write_all(engine: Any, batch: list[dict[str, str]]) -> None:
    from sqlalchemy import text

    with engine.begin() as connection:
        connection.execute(text(_INSERT), batch)


# ------------------------------------------------------------------- main


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few episodes per agent")
    parser.add_argument(
        "--variant", default="facade", help="comma-separated: " + ", ".join(VARIANTS)
    )
    parser.add_argument("--agents", default="1,10,50", help="comma-separated agent counts")
    parser.add_argument("--backend", choices=["all", "sqlite", "postgresql"], default="all")
    parser.add_argument("--no-drivers", action="store_true", help="skip the driver table")
    HostTuning.add_options(parser)
    parser.add_argument(
        "--think-ms",
        type=float,
        default=0.0,
        help="how long each model call takes (5 per episode); 0: agents never wait",
    )
    add_learner_option(parser)
    return parser.parse_args()


def main() -> None:
    args = parse()
    counts = [int(n) for n in args.agents.split(",")]
    variants = args.variant.split(",")
    postgres = os.environ.get("MEMORY_CORE_BENCH_POSTGRES_URL")
    global PREFILL
    if args.quick:
        PREFILL = 50
    with tempfile.TemporaryDirectory() as tmp:
        backends = []
        if args.backend in ("all", "sqlite"):
            backends.append(("SQLite", f"sqlite:///{Path(tmp) / 'agents.db'}"))
        if postgres and args.backend in ("all", "postgresql"):
            backends.append(("PostgreSQL", postgres))
        for backend, url in backends:
            rows: list[Row] = []
            for variant in variants:
                for agents in counts:
                    episodes = max(3 * agents, 30) if args.quick else max(20 * agents, 600)
                    namespace = f"agents-{uuid.uuid4().hex[:8]}"
                    timings, elapsed, lags = asyncio.run(
                        run_agents(
                            VARIANTS[variant],
                            url,
                            namespace,
                            agents,
                            episodes,
                            host=HostTuning.from_args(args),
                            think=args.think_ms / 1000,
                            learner=args.learner,
                        )
                    )
                    rows += agent_rows(
                        f"{backend}, {variant}, {agents} agents", timings, elapsed, lags
                    )
            setting = ", ".join(
                part
                for part in (
                    "default config",
                    'learning.mode="process"' if args.learner == "process" else "",
                    f"model calls of {args.think_ms:g} ms on average" if args.think_ms else "",
                    HostTuning.from_args(args).describe(),
                )
                if part
            )
            print_table(f"Async agents on one event loop ({backend}, {setting})", rows)
            if not args.no_drivers:
                writes = 100 if args.quick else 2_000
                driver = asyncio.run(driver_rows(url, backend, max(counts), writes))
                print_table(f"Episode writes from coroutines: drivers compared ({backend})", driver)


if __name__ == "__main__":
    main()
