"""Callers first: background learning gives way while a caller's search runs.

Every thread of a process shares one interpreter lock. A search releases it many times
(numpy does, over large arrays), and each time a busy learning thread may take it and keep
it for a whole switch interval (5 ms) before the caller runs again: a 2 ms search then
takes 10 ms or more. Calls a caller waits for are marked with `serves_caller`; learning
threads call `CallerPriority.give_way` between episodes and wait there, for a bounded time,
until no such call runs. They do so only while their queue has room (see
`memory_core.learning.service`), so learning that falls behind takes its share again.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from typing import ParamSpec, TypeVar

__all__ = ["CallerPriority", "callers", "serves_caller"]

P = ParamSpec("P")
R = TypeVar("R")


class CallerPriority:
    """Counts callers' calls in flight; background threads wait for them to end.

    Args:
        max_wait_s: Longest a background thread waits at one `give_way`, so background
            work still progresses when calls never stop.
    """

    __slots__ = ("_busy", "_idle", "max_wait_s")

    def __init__(self, max_wait_s: float = 0.010) -> None:
        self.max_wait_s = max_wait_s
        self._busy = 0
        self._idle = threading.Condition(threading.Lock())

    def enter(self) -> None:
        """A caller's call starts."""
        with self._idle:
            self._busy += 1

    def exit(self) -> None:
        """A caller's call ended."""
        with self._idle:
            self._busy -= 1
            if self._busy == 0:
                self._idle.notify_all()

    def reset(self) -> None:
        """Forget every call (in a forked child: its parent's calls do not run there)."""
        self._busy = 0
        self._idle = threading.Condition(threading.Lock())

    @property
    def busy(self) -> bool:
        """True while at least one call runs."""
        return self._busy > 0

    def give_way(self) -> None:
        """Wait, at most ``max_wait_s``, until no caller's call is running."""
        if self._busy == 0:
            return
        with self._idle:
            self._idle.wait_for(lambda: self._busy == 0, self.max_wait_s)


callers = CallerPriority()
"""The process's gate: one interpreter lock per process, so one gate."""
os.register_at_fork(after_in_child=callers.reset)


def serves_caller(method: Callable[P, R]) -> Callable[P, R]:
    """Mark calls of ``method`` as a caller's: background learning gives way meanwhile."""

    @functools.wraps(method)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        callers.enter()
        try:
            return method(*args, **kwargs)
        finally:
            callers.exit()

    return call
