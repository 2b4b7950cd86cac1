"""Moving memory between databases: versioned JSON Lines export and import.

`export_jsonl` writes a namespace (episodes with steps, patterns with effectiveness and
evidence links, heuristics) to a file; `import_jsonl` reads one back, validating every
line, skipping records that are already stored, and reporting bad lines by number. The
format is described in `memory_core.portability.format`.
"""

from memory_core.portability.exporter import ExportSummary, export_jsonl, write_export
from memory_core.portability.format import (
    FORMAT_NAME,
    FORMAT_VERSION,
    EpisodeRecord,
    ExportCounts,
    ExportHeader,
    HeuristicRecord,
    PatternRecord,
)
from memory_core.portability.importer import (
    ImportFileError,
    ImportReport,
    LineError,
    import_jsonl,
    read_header,
)

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "EpisodeRecord",
    "ExportCounts",
    "ExportHeader",
    "ExportSummary",
    "HeuristicRecord",
    "ImportFileError",
    "ImportReport",
    "LineError",
    "PatternRecord",
    "export_jsonl",
    "import_jsonl",
    "read_header",
    "write_export",
]
