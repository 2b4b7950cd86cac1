"""A self-contained HTML report of one namespace: charts, top patterns, recent failures.

``write_report(memory, "report.html")`` reads the namespace and writes one HTML file with
inline CSS and SVG charts (no script, no network): episodes and success rate over time,
the learning curve, reward distributions per domain and task type, the top patterns with
links to their evidence episodes, and recent failures with their suggested improvements.
"""

from __future__ import annotations

import os
from pathlib import Path

from memory_core.errors import InvalidInputError
from memory_core.memory import SyncSelfLearningMemory
from memory_core.report.data import ReportData, collect_report_data
from memory_core.report.page import render_report

__all__ = ["ReportData", "collect_report_data", "render_report", "write_report"]


def write_report(memory: SyncSelfLearningMemory, path: str | os.PathLike[str]) -> ReportData:
    """Write the report of the memory's namespace to ``path`` and return its data.

    Raises:
        InvalidInputError: If the file cannot be written.
        StorageError: If the database fails.
    """
    data = collect_report_data(memory)
    target = Path(path)
    try:
        target.write_text(render_report(data), encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"cannot write report {str(target)!r}: {exc.strerror}") from exc
    return data
