"""Search at fleet scale on PostgreSQL: the database backend beside the in-memory index and bm25s.

Two corpora of generated episodes (``tests/support/corpus.py``), inserted through the
store's import path in batches (the search index is maintained in the same transactions):

- one namespace of ``--size`` episodes (1,000,000 by default);
- ``--tenants`` namespaces of ``--per-tenant`` episodes each (10,000 x 100 by default), of
  which one searching process serves a random ``--searched-tenants`` (1,000).

Every searcher runs in a fresh process, so "cold start" is the first query after the
process starts (opening the store, building an index if the backend needs one) and RSS is
that process's. The in-memory index of the large namespace is built from generated
episodes (as ``benchmarks/retrieval.py`` does): reading a million episodes back from the
store would only add to its cold start. bm25s indexes the same texts (description, tools
and actions). Latencies are wall-clock on a shared machine: noisy.

The learning-effect stream (``benchmarks/learning_effect.py``, synthetic task world) also
runs on PostgreSQL with each backend: success, recall and precision must agree.

``--quick`` runs 2,000 episodes and 20 tenants x 20 (seconds; what CI runs). The database
is ``--url`` or ``$MEMORY_CORE_TEST_POSTGRES_URL``; ingested namespaces are reused when
they already hold the wanted number of episodes. ``--ingest-processes`` processes (2)
import at once: alternate batches of the large namespace, disjoint sets of tenants. An
interrupted ingest resumes: imports are idempotent, a single process importing the large
namespace skips the batches it stored (they are a prefix of its corpus), and tenants
already holding their episodes are skipped (each tenant's episodes come from its own
random stream).

Ingest into one large namespace depends on the server's settings: each batch adds ~72,000
postings spread over the whole key of the namespace's postings, so at PostgreSQL's defaults
(128 MB ``shared_buffers``, checkpoints every 1 GB of WAL) nearly every posting dirties an
index page that is evicted and written again, with a full-page image in the WAL after each
checkpoint. See the README ("Search at fleet scale") for the settings the figures used.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import Row, print_table, rss_bytes, summarize  # noqa: E402
from tests.support.corpus import (  # noqa: E402
    FAMILIES,
    held_out_queries,
    make_episode,
)

from memory_core import (  # noqa: E402
    Episode,
    MemoryConfig,
    SQLAlchemyEpisodeStore,
    SyncSelfLearningMemory,
    TaskContext,
)
from memory_core.evaluation import MemoryCoreAdvisor, ScriptedAgent, TaskWorld, run_stream  # noqa: E402

QUERIES = 300
BATCH = 2_000


def episodes(size: int, seed: int) -> Iterator[list[Episode]]:
    """The corpus of ``generate_corpus(size, seed)`` in batches, with reproducible ids."""
    rng = random.Random(seed)
    for start in range(0, size, BATCH):
        batch = []
        for i in range(start, min(size, start + BATCH)):
            episode = make_episode(FAMILIES[i % len(FAMILIES)], rng)
            episode.episode_id = UUID(int=(seed << 64) | i)
            batch.append(episode)
        yield batch


def queries(count: int, seed: int = 7) -> list[tuple[str, TaskContext]]:
    """Held-out paraphrases, half with their family's context (as ``retrieval.py``)."""
    rng = random.Random(seed)
    held = held_out_queries(seed=seed, per_family=5)
    out = []
    for _ in range(count):
        query = rng.choice(held)
        context = next(f for f in FAMILIES if f.key == query.family).context()
        out.append((query.description, context if rng.random() < 0.5 else TaskContext()))
    return out


# ------------------------------------------------------------------ ingest


def ingest(url: str, namespace: str, size: int, seed: int, processes: int = 1) -> Row | None:
    """Import ``size`` episodes into ``namespace`` (None when it already holds them).

    With ``processes`` > 1, that many processes import alternate batches at once.
    """
    store = SQLAlchemyEpisodeStore(url)
    try:
        stored = store.count_episodes(namespace)
    finally:
        store.close()
    if stored == size:
        return None
    t0 = time.perf_counter()
    if processes <= 1:
        timings = import_batches(url, namespace, size, seed, 0, 1)
    else:
        command = [sys.executable, __file__, "--worker", "ingest-big", "--url", url]
        command += ["--namespace", namespace, "--size", str(size), "--seed", str(seed)]
        command += ["--parts", str(processes)]
        running = [
            subprocess.Popen([*command, "--part", str(i)], stdout=subprocess.PIPE, text=True)
            for i in range(processes)
        ]
        timings = []
        for process in running:
            out, _ = process.communicate()
            if process.returncode != 0:
                raise SystemExit("an ingest process failed")
            timings += json.loads(out.strip().splitlines()[-1])
    total = time.perf_counter() - t0
    if not timings:
        return None
    store = SQLAlchemyEpisodeStore(url)
    try:
        imported = store.count_episodes(namespace) - stored  # the last batch may be short
    finally:
        store.close()
    timings.sort()
    return Row(
        "ingest (import, index maintained)",
        f"{stored:,} to {size:,}",
        timings[len(timings) // 2] * 1e6,
        timings[int(0.95 * (len(timings) - 1))] * 1e6,
        imported / total,
        f"per episode of a batch of {BATCH:,}; {processes} process(es), ops/s all together; "
        "generating episodes included",
    )


def import_batches(
    url: str, namespace: str, size: int, seed: int, part: int, parts: int
) -> list[float]:
    """Import batches ``part``, ``part + parts``, ... of the corpus; seconds per episode each.

    Imports are idempotent, so an interrupted ingest can resume. One process imports the
    batches in order, one transaction each, so what it stored is a prefix of the corpus:
    those batches are generated again but not imported again.
    """
    store = SQLAlchemyEpisodeStore(url)
    try:
        done = store.count_episodes(namespace) // BATCH if parts == 1 else 0
        timings = []
        t = time.perf_counter()
        for number, batch in enumerate(episodes(size, seed)):
            if number % parts != part or number < done:
                t = time.perf_counter()
                continue
            store.import_records(namespace, [(e, True) for e in batch])
            timings.append((time.perf_counter() - t) / len(batch))  # generating included
            t = time.perf_counter()
    finally:
        store.close()
    return timings


def tenant_episodes(tenant: int, per_tenant: int) -> list[Episode]:
    """The episodes of one tenant (its own random stream: tenants can be made in any order)."""
    rng = random.Random(1_000_003 * (tenant + 1))
    offset = rng.randrange(len(FAMILIES))
    return [make_episode(FAMILIES[(offset + i) % len(FAMILIES)], rng) for i in range(per_tenant)]


def ingest_tenants(
    url: str, prefix: str, tenants: int, per_tenant: int, processes: int = 1
) -> Row | None:
    """Import ``per_tenant`` episodes into each of ``tenants`` namespaces.

    With ``processes`` > 1, that many processes import disjoint sets of tenants at once.
    """
    store = SQLAlchemyEpisodeStore(url)
    try:
        if store.count_episodes(f"{prefix}{tenants - 1}") == per_tenant:
            return None
    finally:
        store.close()
    t0 = time.perf_counter()
    if processes <= 1:
        imported = import_tenants(url, prefix, tenants, per_tenant, 0, 1)
    else:
        command = [sys.executable, __file__, "--worker", "ingest-tenants", "--url", url]
        command += ["--namespace", prefix, "--tenants", str(tenants)]
        command += ["--per-tenant", str(per_tenant), "--parts", str(processes)]
        running = [subprocess.Popen([*command, "--part", str(i)]) for i in range(processes)]
        if any(p.wait() != 0 for p in running):
            raise SystemExit("a tenant ingest process failed")
        imported = tenants * per_tenant
    total = time.perf_counter() - t0
    return Row(
        "ingest (import, index maintained)",
        f"{tenants:,} x {per_tenant}",
        total / imported * 1e6,
        total / imported * 1e6,
        imported / total,
        f"one import per tenant, {processes} process(es); generating episodes included",
    )


def import_tenants(
    url: str, prefix: str, tenants: int, per_tenant: int, part: int, parts: int
) -> int:
    """Import the tenants ``part``, ``part + parts``, ... not imported yet; how many episodes."""
    store = SQLAlchemyEpisodeStore(url)
    imported = 0
    try:
        for tenant in range(part, tenants, parts):
            namespace = f"{prefix}{tenant}"
            if store.count_episodes(namespace) == per_tenant:
                continue
            batch = tenant_episodes(tenant, per_tenant)
            store.import_records(namespace, [(e, True) for e in batch])
            imported += per_tenant
    finally:
        store.close()
    return imported


def learning_effect(url: str, tasks: int, seeds: tuple[int, ...]) -> list[str]:
    """The learning-effect stream with each backend on PostgreSQL: Markdown table rows."""
    lines = []
    for seed in seeds:
        stream = TaskWorld(seed).tasks(tasks)
        for backend in ("memory", "database"):
            config = MemoryConfig(
                database_url=url, retrieval={"backend": backend}, load_plugins=False
            )
            namespace = f"learning-effect-{backend}-{seed}-{time.time_ns()}"
            with SyncSelfLearningMemory(config, namespace=namespace) as memory:
                report = run_stream(stream, MemoryCoreAdvisor(memory), ScriptedAgent(seed).run)
            lines.append(
                f"| {seed} | {backend} | {report.success:.3f} | {report.recall:.3f} "
                f"| {report.precision:.3f} | {report.advice_p50_ms:.2f} "
                f"| {report.advice_p95_ms:.2f} |"
            )
    return lines


def vacuum(url: str, size: str) -> Row:
    """``VACUUM ANALYZE`` the search index tables, as autovacuum would after a bulk ingest.

    Candidates are read from the postings' index alone once the visibility map covers
    the new rows; until then each posting read also visits its table row.
    """
    from sqlalchemy import create_engine

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    t = time.perf_counter()
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        for table in ("mc_search_postings", "mc_search_docs", "mc_search_terms"):
            connection.exec_driver_sql(f"VACUUM (ANALYZE) {table}")
    engine.dispose()
    took = time.perf_counter() - t
    return Row("vacuum analyze (search tables)", size, took * 1e6, took * 1e6, 1 / took, "once")


# ------------------------------------------------------------------ workers


def _worker(args: argparse.Namespace) -> None:
    """Run in a fresh process: cold start, then timed queries; print one JSON line."""
    from memory_core.retrieval import EpisodeFilters, EpisodeIndex, RetrievalEngine

    started = time.perf_counter()
    asked = queries(args.queries)
    timings: list[float] = []
    top: list[list[str]] = []  # top-5 ids per query, to compare the searchers
    out: dict[str, object] = {}
    if args.worker in ("database", "memory-store"):
        backend = "database" if args.worker == "database" else "memory"
        config = MemoryConfig(
            database_url=args.url, retrieval={"backend": backend}, load_plugins=False
        )
        store = SQLAlchemyEpisodeStore(args.url)
        rng = random.Random(3)
        served = sorted(rng.sample(range(args.tenants), min(args.searched_tenants, args.tenants)))
        namespaces = (
            [args.namespace] if args.tenants == 0 else [f"{args.namespace}{i}" for i in served]
        )
        engines: dict[str, RetrievalEngine] = {}

        def search(namespace: str, description: str, context: TaskContext) -> list[str]:
            engine = engines.get(namespace)
            if engine is None:
                engine = engines[namespace] = RetrievalEngine(config, store, namespace)
            found = engine.search_episodes(description, context, 5, EpisodeFilters())
            return [str(r.episode.episode_id) for r in found]

        t = time.perf_counter()
        search(namespaces[0], *asked[0])
        out["cold_start_s"] = time.perf_counter() - started
        out["first_query_s"] = time.perf_counter() - t
        if args.tenants:
            for namespace in namespaces:  # every tenant searched once (cold per tenant)
                t = time.perf_counter()
                search(namespace, *asked[rng.randrange(len(asked))])
                timings.append(time.perf_counter() - t)
            out["first_per_tenant"] = timings
            timings = []
            for description, context in asked:
                t = time.perf_counter()
                search(namespaces[rng.randrange(len(namespaces))], description, context)
                timings.append(time.perf_counter() - t)
        else:
            for description, context in asked:
                t = time.perf_counter()
                top.append(search(namespaces[0], description, context))
                timings.append(time.perf_counter() - t)
    elif args.worker == "memory":
        index = EpisodeIndex(MemoryConfig().retrieval)
        for batch in episodes(args.size, args.seed):
            for episode in batch:
                index.add(episode)
            del batch
        gc.collect()
        t = time.perf_counter()
        index.search(*asked[0], 5, EpisodeFilters())
        out["cold_start_s"] = time.perf_counter() - started
        out["first_query_s"] = time.perf_counter() - t
        for description, context in asked:
            t = time.perf_counter()
            hits = index.search(description, context, 5, EpisodeFilters())
            timings.append(time.perf_counter() - t)
            top.append([str(h.episode_id) for h in hits])
    elif args.worker == "bm25s":
        import bm25s

        texts: list[str] = []
        for batch in episodes(args.size, args.seed):
            texts += [
                f"{e.task_description} " + " ".join(f"{s.tool} {s.action}" for s in e.steps)
                for e in batch
            ]
        retriever = bm25s.BM25()
        retriever.index(
            bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False
        )
        del texts
        gc.collect()

        def bm25(description: str) -> list[str]:
            tokens = bm25s.tokenize([description], stopwords="en", show_progress=False)
            found, _ = retriever.retrieve(tokens, k=5, show_progress=False)
            return [str(UUID(int=(args.seed << 64) | int(i))) for i in found[0]]

        t = time.perf_counter()
        bm25(asked[0][0])
        out["cold_start_s"] = time.perf_counter() - started
        out["first_query_s"] = time.perf_counter() - t
        for description, _ in asked:
            t = time.perf_counter()
            top.append(bm25(description))
            timings.append(time.perf_counter() - t)
    out["timings"] = timings
    out["top"] = top
    out["rss"] = rss_bytes()
    print(json.dumps(out))


def run_worker(worker: str, args: argparse.Namespace, **extra: object) -> dict[str, object]:
    """Run one searcher in a fresh process and return what it measured."""
    command = [
        sys.executable,
        __file__,
        "--worker",
        worker,
        "--url",
        args.url,
        "--queries",
        str(args.queries),
    ]
    for key, value in extra.items():
        command += [f"--{key.replace('_', '-')}", str(value)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{worker} worker failed:\n{done.stderr}")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def overlap(found: dict[str, object], reference: dict[str, object] | None) -> str:
    """Share of the reference searcher's top-5 that ``found`` also returned."""
    if reference is None:
        return ""
    mine, theirs = found["top"], reference["top"]
    assert isinstance(mine, list)
    assert isinstance(theirs, list)
    shared = sum(len(set(a) & set(b)) for a, b in zip(mine, theirs, strict=True))
    total = sum(len(b) for b in theirs)
    return f"; top-5 overlap with the in-memory index {shared / max(total, 1):.0%}"


def rows_of(
    name: str, size: str, found: dict[str, object], reference: dict[str, object] | None = None
) -> list[Row]:
    """Table rows of one worker's measurements."""
    timings = found["timings"]
    assert isinstance(timings, list)
    rss = float(found["rss"])  # type: ignore[arg-type]
    cold = float(found["cold_start_s"])  # type: ignore[arg-type]
    first = float(found["first_query_s"])  # type: ignore[arg-type]
    rows = [
        summarize(
            f"{name}: cold start",
            size,
            [cold],
            cold,
            f"process start to first result; first query {first * 1e3:,.0f} ms",
        ),
        summarize(
            f"{name}: top-5",
            size,
            timings,
            sum(timings),
            f"RSS of the process {rss / 2**20:,.0f} MB{overlap(found, reference)}",
        ),
    ]
    per_tenant = found.get("first_per_tenant")
    if isinstance(per_tenant, list) and per_tenant:
        rows.insert(
            1, summarize(f"{name}: first search of each tenant", size, per_tenant, sum(per_tenant))
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, just check it runs")
    parser.add_argument("--url", default=os.environ.get("MEMORY_CORE_TEST_POSTGRES_URL"))
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--tenants", type=int, default=10_000)
    parser.add_argument("--per-tenant", type=int, default=100)
    parser.add_argument(
        "--searched-tenants",
        type=int,
        default=1_000,
        help="tenants one searching process serves (a random sample of all)",
    )
    parser.add_argument("--queries", type=int, default=QUERIES)
    parser.add_argument("--skip", default="", help="comma-separated: memory,bm25s,tenants,learning")
    parser.add_argument("--big-namespace", help="namespace of the large corpus")
    parser.add_argument("--tenant-prefix", help="namespace prefix of the tenants")
    parser.add_argument(
        "--ingest-processes",
        type=int,
        default=2,
        help="processes importing at once (alternate batches; disjoint sets of tenants)",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--part", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--parts", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--namespace", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.url:
        raise SystemExit("set --url or MEMORY_CORE_TEST_POSTGRES_URL to a PostgreSQL database")
    if args.worker == "ingest-big":
        timings = import_batches(
            args.url, args.namespace, args.size, args.seed, args.part, args.parts
        )
        print(json.dumps(timings))
        return
    if args.worker == "ingest-tenants":
        import_tenants(
            args.url, args.namespace, args.tenants, args.per_tenant, args.part, args.parts
        )
        return
    if args.worker:
        _worker(args)
        return
    if args.quick:
        args.size, args.tenants, args.per_tenant, args.queries = 2_000, 20, 20, 30
    skip = set(args.skip.split(","))
    big = args.big_namespace or f"fleet-big-{args.size}"
    prefix = args.tenant_prefix or f"fleet-tenants-{args.tenants}x{args.per_tenant}-"
    rows: list[Row] = []
    size = f"{args.size:,}"
    ingested = ingest(args.url, big, args.size, args.seed, args.ingest_processes)
    rows += [ingested, vacuum(args.url, size)] if ingested else []
    database = run_worker("database", args, namespace=big, tenants=0)
    memory = None
    if "memory" not in skip:
        memory = run_worker("memory", args, size=args.size, seed=args.seed)
        rows += rows_of("in-memory index", size, memory)
    rows += rows_of("database", size, database, memory)
    if "bm25s" not in skip:
        bm25 = run_worker("bm25s", args, size=args.size, seed=args.seed)
        rows += rows_of("bm25s", size, bm25, memory)
    if "tenants" not in skip:
        tenants = f"{args.tenants:,} x {args.per_tenant}"
        ingested = ingest_tenants(
            args.url, prefix, args.tenants, args.per_tenant, args.ingest_processes
        )
        rows += [ingested, vacuum(args.url, tenants)] if ingested else []
        served = min(args.searched_tenants, args.tenants)
        for name, worker in (("database", "database"), ("in-memory index", "memory-store")):
            found = run_worker(
                worker, args, namespace=prefix, tenants=args.tenants, searched_tenants=served
            )
            rows += rows_of(f"{name}, {served:,} tenants served", tenants, found)
    print_table(
        "Search at fleet scale (targets at 1M: cold start <= 1 s, top-5 p95 <= 30 ms, "
        "RSS independent of corpus size)",
        rows,
    )
    if "learning" not in skip:
        lines = learning_effect(
            args.url, 60 if args.quick else 300, (1,) if args.quick else (1, 2, 3)
        )
        print("\n### Learning effect by backend (PostgreSQL; must agree within 0.01)\n")
        print("| seed | backend | success | recall | precision | advice p50 ms | advice p95 ms |")
        print("|---|---|---:|---:|---:|---:|---:|")
        print("\n".join(lines))


if __name__ == "__main__":
    main()
