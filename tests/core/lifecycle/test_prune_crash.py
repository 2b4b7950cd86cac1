"""A prune killed with SIGKILL half-way leaves a consistent database that prunes on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

from tests.support.lifecycle import EPISODE_TABLES, dangling_rows, episode, evidence_outside, seed

from memory_core import RetentionConfig, SQLAlchemyEpisodeStore
from memory_core.storage.retention import prune

EPISODES = 2_000
CAP = 100
CHUNK = 20

PRUNER = textwrap.dedent(
    """
    import sys
    from memory_core import RetentionConfig, SQLAlchemyEpisodeStore
    from memory_core.storage.retention import prune

    url, namespace, cap, chunk = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    store = SQLAlchemyEpisodeStore(url)
    config = RetentionConfig(max_episodes=cap, prune_chunk_size=chunk)
    prune(store, namespace, config, progress=lambda total: print(total.episodes, flush=True))
    print("done", flush=True)
    """
)


def _state(store: SQLAlchemyEpisodeStore, namespace: str) -> dict[str, object]:
    return {
        "dangling": dangling_rows(store, namespace),
        "evidence_outside": evidence_outside(store, namespace),
        "counts": sorted(p.sample_size for p in store.list_patterns(namespace, limit=None)),
        "samples": [h.sample_size for h in store.list_heuristics(namespace)],
    }


def test_a_prune_killed_mid_way_leaves_a_consistent_database(
    database_url: str, namespace: str
) -> None:
    store = SQLAlchemyEpisodeStore(database_url)
    episodes = [episode(i, reward=(i % 7) / 3) for i in range(EPISODES)]
    for start in range(0, EPISODES, 1_000):  # every episode feeds the patterns
        seed(store, namespace, episodes[start : start + 1_000], linked=1_000)
    learned = _state(store, namespace)
    store.close()

    child = subprocess.Popen(
        [sys.executable, "-c", PRUNER, database_url, namespace, str(CAP), str(CHUNK)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    for chunks, line in enumerate(child.stdout, 1):  # kill it once a few chunks committed
        assert line.strip() != "done", "the prune finished before it could be killed"
        if chunks == 5:
            os.kill(child.pid, signal.SIGKILL)
            break
    assert child.wait(timeout=60) == -signal.SIGKILL
    child.stdout.close()

    reopened = SQLAlchemyEpisodeStore(database_url)
    try:
        left = reopened.count_episodes(namespace, completed=True)
        assert CAP < left <= EPISODES - 5 * CHUNK  # part done, by whole chunks
        assert _state(reopened, namespace) == {
            **learned,
            "dangling": dict.fromkeys(EPISODE_TABLES, 0),
            "evidence_outside": 0,
        }
        report = prune(reopened, namespace, RetentionConfig(max_episodes=CAP))
        assert report.episodes_deleted == left - CAP
        assert reopened.count_episodes(namespace, completed=True) == CAP
        assert _state(reopened, namespace)["dangling"] == dict.fromkeys(EPISODE_TABLES, 0)
        assert evidence_outside(reopened, namespace) == 0
    finally:
        reopened.close()
