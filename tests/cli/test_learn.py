"""``memory-core learn [--follow]``: real writer and learner processes sharing one database."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from tests.cli.conftest import Cli

from memory_core import SQLAlchemyEpisodeStore
from memory_core.cli.learn import _stop_on_signals

WRITERS = 2
EPISODES_PER_WRITER = 60
TOOLS = ["reader", "editor", "pytest"]

# A memory in external mode: it stores completed episodes of one task family (same tools,
# same domain) and never learns them itself.
WRITER = textwrap.dedent(
    """
    import sys

    from memory_core import (
        ExecutionResult, ExecutionStep, LearningConfig, MemoryConfig, SyncSelfLearningMemory,
        TaskContext, TaskOutcome,
    )

    url, namespace, worker, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    config = MemoryConfig(
        database_url=url, load_plugins=False, learning=LearningConfig(mode="external")
    )
    with SyncSelfLearningMemory(config, namespace=namespace) as memory:
        for i in range(count):
            eid = memory.start_episode(f"w{worker} task {i}", TaskContext(domain="web-api"))
            for tool in ("reader", "editor", "pytest"):
                memory.log_step(
                    eid,
                    ExecutionStep(tool=tool, action="run", result=ExecutionResult.success("ok")),
                )
            memory.complete_episode(eid, TaskOutcome.success("done"))
        assert memory.stats().learning.processed == 0
    print("ok", flush=True)
    """
)


def _write(url: str, namespace: str, worker: int, count: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, url, namespace, str(worker), str(count)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _learner(cli: Cli, *args: str) -> subprocess.Popen[str]:
    """Start ``memory-core learn --follow`` and wait until it is learning."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "memory_core",
            "--database-url",
            cli.url,
            "--namespace",
            cli.namespace,
            "learn",
            "--follow",
            "--interval",
            "0.05",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli.env,
    )
    assert proc.stderr is not None
    first = proc.stderr.readline()
    assert "learning namespace" in first, first + proc.stderr.read()
    return proc


def _stop(proc: subprocess.Popen[str], sig: int = signal.SIGINT) -> tuple[int, str, str]:
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


def _wait_until(condition: Callable[[], bool], what: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.1)


def test_two_followers_learn_every_episode_of_external_writers_exactly_once(
    database_url: str, namespace: str, make_cli: Callable[[str, str], Cli]
) -> None:
    cli = make_cli(database_url, namespace)
    SQLAlchemyEpisodeStore(database_url).close()  # create the schema before the race
    learners = [_learner(cli, "--json", "--batch-size", "8") for _ in range(2)]
    writers = [_write(database_url, namespace, w, EPISODES_PER_WRITER) for w in range(WRITERS)]
    for writer in writers:
        out, err = writer.communicate(timeout=300)
        assert (writer.returncode, out.strip()) == (0, "ok"), err
    total = WRITERS * EPISODES_PER_WRITER
    store = SQLAlchemyEpisodeStore(database_url)
    try:
        assert store.count_episodes(namespace, completed=True) == total
        _wait_until(lambda: not store.unlearned_episode_ids(namespace), "every episode learned")
        reports = []
        for learner in learners:
            code, out, err = _stop(learner)
            assert code == 0, err
            reports.append(json.loads(out))
        assert sum(r["episodes_learned"] for r in reports) == total  # each exactly once
        assert sum(r["episodes_failed"] for r in reports) == 0
        [sequence] = store.list_patterns(namespace, kind="tool_sequence")
        assert sequence.tools == TOOLS  # type: ignore[attr-defined]
        assert sequence.occurrence_count == total
        assert len(store.pattern_episode_ids(namespace, sequence.pattern_id)) == total
        [context] = store.list_patterns(namespace, kind="context_pattern")
        assert context.occurrence_count == total
        assert store.unlearned_episode_ids(namespace) == []
    finally:
        store.close()


def _store_unlearned(url: str, namespace: str, count: int) -> None:
    writer = _write(url, namespace, 0, count)
    out, err = writer.communicate(timeout=300)
    assert (writer.returncode, out.strip()) == (0, "ok"), err


def test_learn_learns_what_is_pending_and_exits(
    sqlite_url: str, namespace: str, make_cli: Callable[[str, str], Cli]
) -> None:
    _store_unlearned(sqlite_url, namespace, 5)
    cli = make_cli(sqlite_url, namespace)
    result = cli("learn")
    assert result.code == 0, result.stderr
    assert f"Learned 5 episodes of namespace {namespace!r}" in result.stdout
    assert len(result.stdout.strip().splitlines()) == 1
    again = cli("learn", "--json")
    assert again.code == 0, again.stderr
    report = json.loads(again.stdout)
    assert (report["namespace"], report["episodes_learned"], report["batches"]) == (
        namespace,
        0,
        0,
    )


def test_learn_on_an_empty_namespace(tmp_path: Path, make_cli: Callable[[str, str], Cli]) -> None:
    cli = make_cli(f"sqlite:///{tmp_path / 'empty.db'}", "nothing-here")
    result = cli("learn")
    assert result.code == 0, result.stderr
    assert "Learned 0 episodes of namespace 'nothing-here'" in result.stdout


def test_namespaces_are_learned_separately(
    sqlite_url: str, make_cli: Callable[[str, str], Cli]
) -> None:
    _store_unlearned(sqlite_url, "team-a", 4)
    _store_unlearned(sqlite_url, "team-b", 3)
    result = make_cli(sqlite_url, "team-a")("learn", "--json")
    assert json.loads(result.stdout)["episodes_learned"] == 4
    store = SQLAlchemyEpisodeStore(sqlite_url)
    try:
        assert store.unlearned_episode_ids("team-a") == []
        assert len(store.unlearned_episode_ids("team-b")) == 3
        assert store.list_patterns("team-b") == []
        assert store.list_patterns("team-a")
    finally:
        store.close()


def test_follow_stops_cleanly_on_sigint_and_sigterm(
    sqlite_url: str, namespace: str, make_cli: Callable[[str, str], Cli]
) -> None:
    cli = make_cli(sqlite_url, namespace)
    SQLAlchemyEpisodeStore(sqlite_url).close()
    for sig in (signal.SIGINT, signal.SIGTERM):
        learner = _learner(cli)
        code, out, err = _stop(learner, sig)
        assert code == 0, err
        assert "Traceback" not in err
        assert out.startswith("Learned 0 episodes"), out


def test_follow_learns_episodes_stored_while_it_runs(
    sqlite_url: str, namespace: str, make_cli: Callable[[str, str], Cli]
) -> None:
    cli = make_cli(sqlite_url, namespace)
    SQLAlchemyEpisodeStore(sqlite_url).close()
    learner = _learner(cli)
    _store_unlearned(sqlite_url, namespace, 6)
    store = SQLAlchemyEpisodeStore(sqlite_url)
    try:
        _wait_until(lambda: not store.unlearned_episode_ids(namespace), "the follower learned")
    finally:
        store.close()
    code, out, err = _stop(learner)
    assert code == 0, err
    assert out.startswith("Learned 6 episodes"), out


def test_a_signal_arriving_while_the_stop_event_is_locked_does_not_hang() -> None:
    """The handler runs in the main thread, which may hold the event's lock at that moment
    (entering or leaving ``stop.wait``): it must not wait for that lock."""
    stop = threading.Event()
    returned = threading.Event()

    def signal_during_wait(handler: Callable[[int, FrameType | None], object]) -> None:
        with stop._cond:  # type: ignore[attr-defined]  # as inside stop.wait()
            handler(signal.SIGINT, None)
        returned.set()

    with _stop_on_signals(stop):
        handler = signal.getsignal(signal.SIGINT)
        assert callable(handler)
        # run where a hang cannot stop the test run: a thread that may be left behind
        threading.Thread(target=signal_during_wait, args=(handler,), daemon=True).start()
        assert returned.wait(10), "the signal handler waited for the stop event's lock"
        assert stop.wait(10)  # and the stop is still delivered
    assert signal.getsignal(signal.SIGINT) is not handler  # the previous handler is back
