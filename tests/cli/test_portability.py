"""Export / import: lossless, deterministic, idempotent, validating, also across databases."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from memory_core import Heuristic, MemoryConfig, SyncSelfLearningMemory
from memory_core.portability import (
    FORMAT_VERSION,
    ImportFileError,
    export_jsonl,
    import_jsonl,
)

TIMESTAMP = re.compile(r'"exported_at":"[^"]+"')


def _without_timestamp(path: Path) -> bytes:
    return TIMESTAMP.sub('"exported_at":""', path.read_text(encoding="utf-8")).encode()


def _memory(url: str, namespace: str) -> SyncSelfLearningMemory:
    return SyncSelfLearningMemory(
        MemoryConfig(database_url=url, load_plugins=False), namespace=namespace
    )


def test_cli_round_trip_is_byte_identical_and_idempotent(
    cli: Any, make_cli: Any, tmp_path: Path
) -> None:
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    exported = cli("export", str(first))
    assert exported.code == 0, exported.stderr
    assert "Exported 31 episodes" in exported.stdout
    assert "episodes/s" in exported.stdout

    empty = make_cli(f"sqlite:///{tmp_path / 'empty.db'}")
    imported = empty("import", str(first))
    assert imported.code == 0, imported.stderr
    assert "Imported 31 episodes" in imported.stdout
    assert "episodes/s" in imported.stdout
    assert "importing" in imported.stderr  # the progress bar
    again = empty("import", str(first))
    assert again.code == 0, again.stderr
    assert "Imported 0 episodes, 0 patterns and 0 heuristics" in again.stdout
    assert "Skipped 31 episodes" in again.stdout

    assert empty("export", str(second)).code == 0
    assert _without_timestamp(first) == _without_timestamp(second)
    header = json.loads(first.read_text().splitlines()[0])
    assert header["format"] == "memory-core-export"
    assert header["version"] == FORMAT_VERSION
    assert header["counts"]["episodes"] == 31


def test_export_refuses_to_overwrite(cli: Any, check_error: Any, tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_text("keep me")
    check_error(cli("export", str(target)), "already exists", "--force")
    assert target.read_text() == "keep me"
    assert cli("export", str(target), "--force").code == 0
    check_error(cli("export", str(tmp_path / "missing" / "out.jsonl")), "cannot write")


def test_import_reports_bad_lines_and_keeps_good_ones(
    cli: Any, make_cli: Any, tmp_path: Path
) -> None:
    source = tmp_path / "good.jsonl"
    assert cli("export", str(source)).code == 0
    lines = source.read_text().splitlines()
    episode = json.loads(lines[2])
    episode["episode"]["task_description"] = None  # invalid
    lines[2] = json.dumps(episode)
    lines[4] = "{not json"
    lines.insert(6, json.dumps({"type": "gizmo"}))
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join(lines) + "\n")

    target = make_cli(f"sqlite:///{tmp_path / 'target.db'}")
    result = target("import", str(broken))
    assert result.code == 1
    assert "Traceback" not in result.stderr
    assert f"{broken}:3: episode.task_description" in result.stderr
    assert f"{broken}:5: " in result.stderr
    assert "Invalid JSON" in result.stderr
    assert f"{broken}:7: " in result.stderr
    assert "3 invalid line(s)" in result.stderr
    assert "Imported 29 episodes" in result.stdout

    strict_target = make_cli(f"sqlite:///{tmp_path / 'strict.db'}")
    strict = strict_target("import", str(broken), "--strict")
    assert strict.code == 1
    assert "Traceback" not in strict.stderr
    (line,) = strict.stderr.strip().splitlines()
    assert "3 invalid line(s)" in line
    assert "nothing was imported" in line
    assert "line 3" in line
    with _memory(strict_target.url, strict_target.namespace) as memory:
        assert memory.stats().episodes_total == 0
        assert memory.stats().patterns_total == 0


def test_import_rejects_files_that_are_not_exports(
    cli: Any, check_error: Any, tmp_path: Path
) -> None:
    not_json = tmp_path / "notes.txt"
    not_json.write_text("hello\n")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    newer = tmp_path / "newer.jsonl"
    newer.write_text(
        json.dumps({"format": "memory-core-export", "version": FORMAT_VERSION + 1}) + "\n"
    )
    bad_header = tmp_path / "bad-header.jsonl"
    bad_header.write_text(json.dumps({"format": "memory-core-export", "version": 1}) + "\n")
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    results = cli.many(
        ("import", str(not_json)),
        ("import", str(empty)),
        ("import", str(newer)),
        ("import", str(bad_header)),
        ("import", str(binary)),
        ("import", str(tmp_path / "missing.jsonl")),
    )
    check_error(results[0], "is not a memory-core export")
    check_error(results[1], "is empty")
    check_error(results[2], f"version {FORMAT_VERSION + 1}", "upgrade memory-core")
    check_error(results[3], "bad header", "namespace")
    check_error(results[4], "not UTF-8")
    check_error(results[5], "cannot read", "missing.jsonl")


@pytest.mark.parametrize("batch_size", [1, 7, 1000])
def test_library_round_trip_into_every_database(
    seeded: Any, database_url: str, namespace: str, tmp_path: Path, batch_size: int
) -> None:
    """SQLite -> (SQLite | PostgreSQL) -> file: the same records, whatever the batch size."""
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    with _memory(seeded.url, seeded.namespace) as source:
        export_jsonl(source, first, batch_size=batch_size)
        original = {e.episode_id: e for e in source.list_episodes(limit=None)}
        original_patterns = {p.pattern_id: p for p in source.list_patterns(limit=None)}
        links = sorted(source.engine.store.pattern_links(source.namespace))
    with _memory(database_url, namespace) as target:
        report = import_jsonl(target, first, batch_size=batch_size)
        assert report.errors == []
        assert report.imported == report.header.counts
        assert report.imported.episodes == 31
        assert report.imported.patterns >= 3
        export_jsonl(target, second, batch_size=batch_size)
        copied = {e.episode_id: e for e in target.list_episodes(limit=None)}
        assert copied == original  # steps, reward, reflection, pattern ids...
        assert {p.pattern_id: p for p in target.list_patterns(limit=None)} == original_patterns
        assert sorted(target.engine.store.pattern_links(namespace)) == links
        assert [h.heuristic_id for h in target.list_heuristics()] == [
            h.heuristic_id for h in _heuristics(seeded)
        ]
        # what was still waiting for extraction is still waiting (learned flags survive)
        assert set(target.engine.store.unlearned_episode_ids(namespace)) <= set(original)
    a, b = first.read_text().splitlines(), second.read_text().splitlines()
    assert a[1:] == b[1:]
    header_a, header_b = json.loads(a[0]), json.loads(b[0])
    assert header_a["counts"] == header_b["counts"]


def _heuristics(seeded: Any) -> list[Heuristic]:
    with _memory(seeded.url, seeded.namespace) as memory:
        return memory.list_heuristics()


def test_strict_library_import_raises_with_line_numbers(
    seeded: Any, sqlite_url: str, tmp_path: Path
) -> None:
    source = tmp_path / "in.jsonl"
    with _memory(seeded.url, seeded.namespace) as memory:
        export_jsonl(memory, source)
    lines = source.read_text().splitlines()
    record = json.loads(lines[1])
    record["episode"]["steps"][1]["step_number"] = 1  # not increasing
    lines[1] = json.dumps(record)
    source.write_text("\n".join(lines) + "\n")
    with _memory(f"sqlite:///{tmp_path / 'other.db'}", "x") as memory:
        with pytest.raises(ImportFileError) as caught:
            import_jsonl(memory, source, strict=True)
        assert [e.line for e in caught.value.errors] == [2]
        assert "step_number 1 is not above" in caught.value.errors[0].message
        assert memory.stats().episodes_total == 0
