"""Web UI page latency on a big memory: every page, p50/p95, on a SQLite file.

Fills a SQLite file with N synthetic episodes (the retrieval test corpus: 30 task families,
4-6 steps each, rewards, reflections, spread over 90 days) and one tool-sequence pattern per
family linked to all of its episodes, through the store's bulk ``import_records`` path.
Then requests each page in-process (Starlette's TestClient: the app, its queries and its
templates, no network) and reports per-request latency. The overview is cached until the
memory changes, so it is timed both as served and recomputed on every request. The first
search, which waits for the retrieval index the app starts building in the background, is
reported on its own line.

    python benchmarks/ui_pages.py            # 100,000 episodes
    python benchmarks/ui_pages.py --quick    # 1,000 episodes, a smoke run
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import Row, measure, parse_args, print_table, summarize  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402
from tests.support.corpus import FAMILIES, generate_corpus  # noqa: E402

from memory_core import MemoryConfig, SyncSelfLearningMemory  # noqa: E402
from memory_core.models import ToolSequence  # noqa: E402
from memory_core.portability._gc import paused_gc  # noqa: E402
from memory_core.storage import SQLAlchemyEpisodeStore  # noqa: E402
from memory_core.ui import create_app  # noqa: E402

NAMESPACE = "bench-ui"
BATCH = 2_000


def fill(url: str, size: int) -> tuple[float, list[str], list[str]]:
    """Store ``size`` episodes and one pattern per family; returns (seconds, ids, patterns)."""
    store = SQLAlchemyEpisodeStore(url)
    started = time.perf_counter()
    episode_ids: list[str] = []
    by_family: dict[int, list] = {}
    try:
        with paused_gc():
            for first in range(0, size, BATCH):
                episodes = generate_corpus(min(BATCH, size - first), seed=first)
                for offset, episode in enumerate(episodes):
                    by_family.setdefault((first + offset) % len(FAMILIES), []).append(
                        episode.episode_id
                    )
                store.import_records(NAMESPACE, [(e, True) for e in episodes])
                episode_ids += [str(e.episode_id) for e in episodes[:50]]
        patterns = [
            (
                ToolSequence(
                    context=FAMILIES[index].context(),
                    tools=list(FAMILIES[index].tools),
                    success_rate=0.8,
                    occurrence_count=len(ids),
                    evidence=ids[-50:],
                ),
                ids,
            )
            for index, ids in sorted(by_family.items())
        ]
        store.import_records(NAMESPACE, [], patterns)
    finally:
        store.close()
    return time.perf_counter() - started, episode_ids, [str(p.pattern_id) for p, _ in patterns]


def pages(episode_ids: list[str], pattern_ids: list[str], size: int) -> list[tuple[str, str]]:
    """(label, path) of every page to time."""
    last_page = max(1, -(-size // 25))
    family = FAMILIES[0]
    search = urlencode(
        {"q": "Fix the failing login test", "domain": family.context().domain, "tags": "auth"}
    )
    return [
        ("overview /", "/"),
        ("episodes, page 1", "/episodes"),
        ("episodes, last page", f"/episodes?page={last_page}"),
        ("episodes, filtered", "/episodes?outcome=failure&task_type=debugging&since=2026-04-01"),
        ("episode detail", f"/episodes/{episode_ids[len(episode_ids) // 2]}"),
        ("search (episodes + patterns)", f"/search?{search}"),
        ("patterns list", "/patterns"),
        ("pattern detail", f"/patterns/{pattern_ids[0]}"),
        ("unknown episode (404)", "/episodes/00000000-0000-4000-8000-000000000000"),
    ]


def main() -> None:
    args = parse_args(__doc__ or "")
    size = 1_000 if args.quick else 100_000
    repeat = 5 if args.quick else 30
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'ui.db'}"
        seconds, episode_ids, pattern_ids = fill(url, size)
        rows.append(summarize("fill (import_records)", f"{size:,} episodes", [seconds], seconds))
        config = MemoryConfig.model_validate(
            {"database_url": url, "load_plugins": False, "retrieval": {"record_retrievals": False}}
        )
        app_memory = SyncSelfLearningMemory(config, namespace=NAMESPACE)
        app = create_app(app_memory)
        with app_memory, TestClient(app) as client:
            targets = pages(episode_ids, pattern_ids, size)
            search_path = next(path for label, path in targets if label.startswith("search"))
            started = time.perf_counter()
            assert client.get(search_path).status_code == 200
            first = time.perf_counter() - started
            rows.append(summarize("first search (builds the index)", f"{size:,}", [first], first))
            for label, path in targets:
                status = client.get(path).status_code  # warm up, and check it works
                assert status == (404 if "404" in label else 200), (label, status)
                rows.append(
                    measure(label, f"{size:,} episodes", lambda p=path: client.get(p), repeat)
                )
                if path == "/":  # the same page with its aggregates recomputed every time

                    def cold() -> None:
                        app.state.ui.forget_overview(NAMESPACE)
                        client.get("/")

                    rows.append(
                        measure("overview /, recomputed", f"{size:,} episodes", cold, repeat)
                    )
    print_table(f"Web UI pages (SQLite, {size:,} episodes, in-process requests)", rows)


if __name__ == "__main__":
    main()
