"""Shared helpers for the benchmark scripts: timing, percentiles and the result table.

Every script accepts ``--quick`` (a smoke run CI uses to check the script works) and
prints rows of: operation, size, p50, p95, ops/s.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "NO_TUNING",
    "HostTuning",
    "Row",
    "add_learner_option",
    "measure",
    "parse_args",
    "print_table",
    "rss_bytes",
    "summarize",
]


@dataclass
class Row:
    """One line of a benchmark table."""

    operation: str
    size: str
    p50_us: float
    p95_us: float
    ops_per_s: float
    note: str = ""


def parse_args(description: str) -> argparse.Namespace:
    """Parse the common ``--quick`` flag."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, just check it runs")
    return parser.parse_args()


def add_learner_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--learner``: where the memory learns (``thread`` or ``process``)."""
    parser.add_argument(
        "--learner",
        choices=["thread", "process"],
        default="thread",
        help="thread: the memory's background learning (default config); process: "
        "learning.mode='process' (the memory's own learner process)",
    )


@dataclass(frozen=True)
class HostTuning:
    """What a latency-sensitive host process may do for itself (none of it by default).

    Attributes:
        gc_freeze: Once started, move every object alive to the garbage collector's
            permanent generation (`gc.freeze`), so full collections walk only what was
            made since: the start-up objects of the interpreter, the libraries and the
            memory's warm state are never walked again.
        switch_interval_ms: `sys.setswitchinterval` in milliseconds (Python's default:
            5): how long a thread may hold the interpreter while another waits for it.
    """

    gc_freeze: bool = False
    switch_interval_ms: float | None = None

    @staticmethod
    def add_options(parser: argparse.ArgumentParser) -> None:
        """Add ``--gc-freeze`` and ``--switch-interval-ms`` to a script's options."""
        parser.add_argument(
            "--gc-freeze",
            action="store_true",
            help="the host freezes its start-up objects (gc.freeze()) once started",
        )
        parser.add_argument(
            "--switch-interval-ms",
            type=float,
            default=None,
            help="the host's sys.setswitchinterval, in ms (Python's default: 5)",
        )

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> HostTuning:
        """The tuning the options ask for."""
        return cls(args.gc_freeze, args.switch_interval_ms)

    def started(self) -> None:
        """Apply the tuning: call once the host has started (its memory open and warm)."""
        if self.switch_interval_ms is not None:
            sys.setswitchinterval(self.switch_interval_ms / 1000)
        if self.gc_freeze:
            gc.collect()
            gc.freeze()

    def stopped(self) -> None:
        """Undo `started` (so the next run of the same script starts as Python does)."""
        sys.setswitchinterval(0.005)
        gc.unfreeze()

    def describe(self) -> str:
        """The tuning in words, for a table title ("" when none)."""
        parts = []
        if self.gc_freeze:
            parts.append("host calls gc.freeze() once started")
        if self.switch_interval_ms is not None:
            parts.append(f"switch interval {self.switch_interval_ms:g} ms")
        return "; ".join(parts)


NO_TUNING = HostTuning()
"""The host as Python starts it."""


def measure(operation: str, size: str, fn: Callable[[], object], repeat: int) -> Row:
    """Call ``fn`` ``repeat`` times and report per-call percentiles and throughput."""
    timings: list[float] = []
    start = time.perf_counter()
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        timings.append(time.perf_counter() - t0)
    total = time.perf_counter() - start
    return summarize(operation, size, timings, total)


def summarize(operation: str, size: str, timings: list[float], total: float, note: str = "") -> Row:
    """Build a row from per-call timings (seconds) and the wall time they took together."""
    timings = sorted(timings)
    p95_index = max(0, min(len(timings) - 1, round(0.95 * (len(timings) - 1))))
    return Row(
        operation=operation,
        size=size,
        p50_us=statistics.median(timings) * 1e6,
        p95_us=timings[p95_index] * 1e6,
        ops_per_s=len(timings) / total if total > 0 else float("inf"),
        note=note,
    )


def _fmt_us(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1e6:.2f} s"
    if value >= 1_000:
        return f"{value / 1e3:.2f} ms"
    return f"{value:.1f} µs"


def rss_bytes() -> int:
    """Current resident set size (Linux /proc; 0 elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except OSError:
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")


def print_table(title: str, rows: Iterable[Row]) -> None:
    """Print rows as a Markdown table (easy to paste into notes)."""
    print(f"\n### {title}\n")
    print("| operation | size | p50 | p95 | ops/s | note |")
    print("|---|---|---:|---:|---:|---|")
    for row in rows:
        print(
            f"| {row.operation} | {row.size} | {_fmt_us(row.p50_us)} | {_fmt_us(row.p95_us)} "
            f"| {row.ops_per_s:,.0f} | {row.note} |"
        )
