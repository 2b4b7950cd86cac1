"""``memory-core relearn``: run pattern extraction again over stored episodes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Annotated

import typer

from memory_core.cli._common import console, err_console, make_progress, open_memory
from memory_core.errors import InvalidInputError, LearningQueueFullError
from memory_core.learning import similarity_key
from memory_core.memory import SyncSelfLearningMemory
from memory_core.models import Episode, PatternEffectiveness
from memory_core.storage import WriteBatch

__all__ = ["relearn_command"]

_POLL_SECONDS = 0.25


def _completed_episodes(memory: SyncSelfLearningMemory, batch_size: int) -> Iterator[Episode]:
    store, namespace = memory.engine.store, memory.namespace
    cursor = None
    while page := store.export_episodes(namespace, after=cursor, limit=batch_size):
        last = page[-1][0]
        cursor = (last.start_time, last.episode_id)
        yield from (episode for episode, _ in page if episode.is_complete)


def _pending_episodes(memory: SyncSelfLearningMemory) -> Iterator[Episode]:
    store, namespace = memory.engine.store, memory.namespace
    ids = store.unlearned_episode_ids(namespace)
    for start in range(0, len(ids), 500):
        found = store.get_episodes(namespace, ids[start : start + 500])
        yield from sorted(found, key=lambda e: (e.end_time or e.start_time, str(e.episode_id)))


def _submit(memory: SyncSelfLearningMemory, episode: Episode) -> None:
    while True:
        try:
            memory.engine.learning.submit(episode)
            return
        except LearningQueueFullError:
            memory.wait_for_learning(_POLL_SECONDS)


def _restore_effectiveness(
    memory: SyncSelfLearningMemory, kept: dict[tuple[str, str], PatternEffectiveness]
) -> None:
    """Give re-learned patterns the effectiveness record of the pattern they replace."""
    store, namespace = memory.engine.store, memory.namespace
    back = {
        p.pattern_id: kept[(p.kind, similarity_key(p))]
        for p in store.list_patterns(namespace)
        if (p.kind, similarity_key(p)) in kept
    }
    store.update_patterns(
        namespace,
        list(back),
        lambda p: p.model_copy(update={"effectiveness": back[p.pattern_id]}),
    )


def relearn_command(
    ctx: typer.Context,
    pending_only: Annotated[
        bool,
        typer.Option(help="Only episodes whose extraction never ran (e.g. after a crash)."),
    ] = False,
    rebuild: Annotated[
        bool,
        typer.Option(
            help="Delete the stored patterns first and learn them again from scratch "
            "(patterns that come back keep their effectiveness record)."
        ),
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before --rebuild.")] = False,
    batch_size: Annotated[int, typer.Option(min=1, help="Episodes read per query.")] = 500,
) -> None:
    """Run pattern extraction again over stored episodes (e.g. after installing a plugin).

    By default every completed episode is learned from again and the results merge into the
    stored patterns: patterns from newly installed extractors appear, and an episode already
    counted in a pattern's evidence is not counted twice. --rebuild deletes the stored
    patterns first and learns them again from scratch (patterns that come back keep their
    effectiveness record); --pending-only just finishes extraction that never ran.
    """
    if pending_only and rebuild:
        raise InvalidInputError("--pending-only and --rebuild cannot be combined; pick one")
    if rebuild and not yes:
        typer.confirm(
            "Delete every stored pattern of this namespace and learn them again?", abort=True
        )
    with open_memory(ctx) as memory:
        store, namespace = memory.engine.store, memory.namespace
        memory.wait_for_learning()  # let work resumed at start-up finish first
        patterns_before = len(store.list_patterns(namespace))
        if pending_only:
            total = len(store.unlearned_episode_ids(namespace))
            episodes = _pending_episodes(memory)
        else:
            total = store.count_episodes(namespace, completed=True)
            episodes = _completed_episodes(memory, batch_size)
        kept: dict[tuple[str, str], PatternEffectiveness] = {}
        if rebuild:
            for pattern in store.list_patterns(namespace):
                kept[(pattern.kind, similarity_key(pattern))] = pattern.effectiveness
                store.delete_pattern(namespace, pattern.pattern_id)
        learning = memory.engine.learning
        before = learning.stats()
        base = before.processed + before.failed
        started = time.perf_counter()
        with make_progress("episodes") as progress:
            task = progress.add_task("re-learning", total=total)

            def update() -> None:
                stats = learning.stats()
                progress.update(task, completed=stats.processed + stats.failed - base)

            for count, episode in enumerate(episodes, start=1):
                if rebuild and episode.pattern_ids:
                    cleared = episode.model_copy(update={"pattern_ids": []})
                    store.write(namespace, WriteBatch(completed=[cleared]))
                    episode = cleared
                _submit(memory, episode)
                if count % 100 == 0:
                    update()
            while not memory.wait_for_learning(_POLL_SECONDS):
                update()
            update()
        if kept:
            _restore_effectiveness(memory, kept)
        seconds = time.perf_counter() - started
        failed = learning.stats().failed - before.failed
        patterns_after = len(store.list_patterns(namespace))
    console.print(
        f"Re-learned {total:,} episodes of namespace {namespace!r} in {seconds:.2f} s "
        f"({total / max(seconds, 1e-9):,.0f} episodes/s); patterns: {patterns_before:,} before, "
        f"{patterns_after:,} now."
    )
    if failed > 0:
        err_console.print(f"warning: extraction failed for {failed} episodes (see the logs)")
