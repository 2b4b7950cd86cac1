"""``memory-core learn``: learn what memories in ``learning.mode="external"`` stored.

Any number of these may run at once, on any machines sharing the database: each episode is
learned by exactly one of them (see `memory_core.learning.learner`).
"""

from __future__ import annotations

import queue
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Annotated

import typer

from memory_core.cli._common import console, err_console, print_json, state
from memory_core.learning import LearnReport, follow
from memory_core.memory import SyncSelfLearningMemory

__all__ = ["learn_command"]


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT and SIGTERM set ``stop`` (the batch under way finishes) instead of killing.

    The handler only queues the signal; a thread sets ``stop``. Setting it in the handler
    could wait forever: the handler runs in the main thread, which may be holding the
    event's own lock at that moment (entering or leaving ``stop.wait``). `queue.SimpleQueue`
    is safe to put to from a signal handler.
    """
    received: queue.SimpleQueue[int | None] = queue.SimpleQueue()

    def relay() -> None:
        if received.get() is not None:
            stop.set()

    def handler(signum: int, _frame: FrameType | None) -> None:
        received.put_nowait(signum)

    relay_thread = threading.Thread(target=relay, name="memory-core-signals", daemon=True)
    relay_thread.start()
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        received.put_nowait(None)  # ends the relay when no signal came
        relay_thread.join()


def learn_command(
    ctx: typer.Context,
    follow_: Annotated[
        bool,
        typer.Option(
            "--follow",
            "-f",
            help="Keep learning what any process stores until interrupted (Ctrl-C or "
            "SIGTERM finish the batch under way and exit 0).",
        ),
    ] = False,
    interval: Annotated[
        float,
        typer.Option(min=0.01, help="With --follow: seconds between polls when idle."),
    ] = 1.0,
    batch_size: Annotated[
        int | None,
        typer.Option(min=1, help="Episodes per transaction (default: learning.batch_size)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Learn every episode of the namespace that is stored but not learned yet, then exit.

    Memories configured with learning.mode="external" store episodes and leave their
    learning to this command; it also finishes learning cut short by a crash. With --follow
    it keeps polling for new episodes. Many learners may run at once on one database.
    """
    options = state(ctx)
    config = options.config()
    config.learning.mode = "external"  # this process learns through the claims below only
    namespace = options.namespace or "default"
    stop = threading.Event()
    with (
        _stop_on_signals(stop),
        SyncSelfLearningMemory(config, namespace=namespace) as memory,
    ):
        engine = memory.engine

        def learn_once() -> LearnReport:
            return engine.learn_pending(batch_size=batch_size, stop=stop)

        if follow_:
            err_console.print(f"learning namespace {namespace!r}; Ctrl-C to stop", highlight=False)
            report = follow(
                learn_once,
                namespace=namespace,
                stop=stop,
                interval=interval,
                on_report=None if as_json else _progress,
            )
        else:
            report = learn_once()
    if as_json:
        print_json(report.model_dump() | {"episodes_per_second": report.episodes_per_second})
        return
    console.print(_summary(report))


def _progress(report: LearnReport) -> None:
    err_console.print(_summary(report))


def _summary(report: LearnReport) -> str:
    failed = f", {report.episodes_failed:,} failed (see the logs)" if report.episodes_failed else ""
    return (
        f"Learned {report.episodes_learned:,} episodes of namespace {report.namespace!r} in "
        f"{report.seconds:.2f} s ({report.episodes_per_second:,.0f} episodes/s, "
        f"{report.batches:,} batches){failed}."
    )
