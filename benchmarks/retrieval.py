"""Retrieval benchmark: index build time, index memory and top-5 search latency.

Sizes 1k and 10k are stored in a SQLite file first and indexed by the engine the way a
memory does it (lazily, from the store); 100k is indexed directly from generated episodes
(storing 100k episodes through the store takes minutes and measures the store, not
retrieval). ``--quick`` runs one tiny size.
"""

from __future__ import annotations

import gc
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import Row, parse_args, print_table, rss_bytes, summarize  # noqa: E402
from tests.support.corpus import FAMILIES, NOW, generate_corpus, held_out_queries  # noqa: E402

from memory_core import MemoryConfig, SQLAlchemyEpisodeStore, TaskContext  # noqa: E402
from memory_core.retrieval import EpisodeFilters, EpisodeIndex, RetrievalEngine  # noqa: E402
from memory_core.storage import WriteBatch  # noqa: E402

QUERIES = 1_000


def queries(count: int, seed: int = 7) -> list[tuple[str, TaskContext]]:
    rng = random.Random(seed)
    held = held_out_queries(seed=seed, per_family=5)
    out = []
    for _ in range(count):
        if rng.random() < 0.2:
            out.append(("", rng.choice(FAMILIES).context()))
        else:
            query = rng.choice(held)
            context = next(f for f in FAMILIES if f.key == query.family).context()
            out.append((query.description, context if rng.random() < 0.5 else TaskContext()))
    return out


def text_bytes(episodes: list) -> int:
    return sum(
        len(e.task_description) + sum(len(s.tool) + len(s.action) for s in e.steps)
        for e in episodes
    )


def bench_index(size: int, count: int) -> list[Row]:
    episodes = generate_corpus(size, seed=size)
    gc.collect()
    before = rss_bytes()
    t0 = time.perf_counter()
    index = EpisodeIndex(MemoryConfig().retrieval)
    for episode in episodes:
        index.add(episode)
    build = time.perf_counter() - t0
    gc.collect()
    delta = rss_bytes() - before
    per_episode = delta / size
    note = (
        f"RSS +{delta / 2**20:.1f} MB = {per_episode:,.0f} B/episode "
        f"(numpy/array structures {index.nbytes / size:,.0f} B/episode; "
        f"text {text_bytes(episodes) / size:,.0f} B/episode)"
    )
    rows = [summarize("index build (from episodes)", f"{size:,}", [build], build, note)]
    timings, cpu = [], []
    now = NOW.timestamp()
    for description, context in queries(count):
        t, c = time.perf_counter(), time.thread_time()
        index.search(description, context, 5, EpisodeFilters(), now=now)
        cpu.append(time.thread_time() - c)
        timings.append(time.perf_counter() - t)
    rows.append(summarize("rank top-5 (index, wall)", f"{size:,}", timings, sum(timings)))
    rows.append(
        summarize(
            "rank top-5 (index, CPU)", f"{size:,}", cpu, sum(cpu), "thread CPU time: no preemption"
        )
    )
    return rows


def bench_store(size: int, count: int) -> list[Row]:
    episodes = generate_corpus(size, seed=size)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        store = SQLAlchemyEpisodeStore(url)
        for start in range(0, size, 1_000):
            store.write("bench", WriteBatch(new_episodes=episodes[start : start + 1_000]))
        engine = RetrievalEngine(MemoryConfig(database_url=url), store, "bench")
        gc.collect()
        t0 = time.perf_counter()
        engine.search_episodes("warm up", TaskContext(), 5, EpisodeFilters())
        build = time.perf_counter() - t0
        rows = [summarize("index build (lazy, from the SQLite store)", f"{size:,}", [build], build)]
        timings = []
        for description, context in queries(count):
            t = time.perf_counter()
            engine.search_episodes(description, context, 5, EpisodeFilters())
            timings.append(time.perf_counter() - t)
        rows.append(
            summarize(
                "search_episodes top-5 (engine, SQLite)",
                f"{size:,}",
                timings,
                sum(timings),
                "includes feed check and loading the 5 episodes (LRU cache of 512)",
            )
        )
        engine.close()
        store.close()
    return rows


def main() -> None:
    args = parse_args(__doc__ or "")
    rows: list[Row] = []
    if args.quick:
        rows += bench_store(100, 50)
        rows += bench_index(100, 50)
    else:
        for size in (1_000, 10_000):
            rows += bench_store(size, QUERIES)
        for size in (1_000, 10_000, 100_000):
            rows += bench_index(size, QUERIES)
    print_table("Retrieval (targets: top-5 p95 <= 2 ms at 10k, <= 10 ms at 100k)", rows)
    print(
        "\n100k is indexed from generated episodes, not through the store. Memory targets "
        "<= 2 KB/episode beyond the text: see the RSS note of each build row."
    )


if __name__ == "__main__":
    main()
