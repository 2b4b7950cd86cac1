"""Every command's happy path and error path, through the real console entry point.

Each run is ``python -m memory_core ...`` in a subprocess against a temporary SQLite
database (independent runs go concurrently to keep the suite quick). Error paths must exit
non-zero with one ``error: ...`` line on standard error and no traceback.
"""

from __future__ import annotations

import importlib.metadata
import json
import uuid
from pathlib import Path
from typing import Any

from memory_core.cli import main
from memory_core.cli.demo import DEMO_TASKS
from memory_core.storage import SQLAlchemyEpisodeStore
from memory_core.storage._schema import SCHEMA_VERSION

UNKNOWN = str(uuid.UUID(int=7))


def test_console_script_points_at_main() -> None:
    (script,) = importlib.metadata.entry_points(group="console_scripts", name="memory-core")
    assert script.load() is main


def test_help_lists_every_command(shared_cli: Any) -> None:
    result = shared_cli.raw("--help")
    assert result.code == 0
    for command in (
        "demo",
        "stats",
        "episodes",
        "patterns",
        "search",
        "export",
        "import",
        "migrate",
        "doctor",
        "relearn",
        "report",
    ):
        assert command in result.stdout


def test_stats(shared_cli: Any, shared_seeded: Any) -> None:
    table, as_json = shared_cli.many(("stats",), ("stats", "--json"))
    assert table.code == 0, table.stderr
    assert "namespace 'cli-test'" in table.stdout
    data = json.loads(as_json.stdout)
    assert data["namespace"] == shared_seeded.namespace
    assert data["episodes_total"] == 31
    assert data["episodes_completed"] == 30
    assert data["heuristics_total"] >= 1
    # the URL can also come from MEMORY_CORE_DATABASE_URL
    result = shared_cli.raw(
        "--namespace",
        shared_seeded.namespace,
        "stats",
        "--json",
        env={"MEMORY_CORE_DATABASE_URL": shared_seeded.url},
    )
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["episodes_total"] == 31


def test_episodes_list(shared_cli: Any, shared_seeded: Any, check_error: Any) -> None:
    table, failures, window, in_flight, bad_date = shared_cli.many(
        ("episodes", "list", "--limit", "5"),
        ("episodes", "list", "--outcome", "failure", "--json"),
        (
            "episodes",
            "list",
            "--domain",
            "web-api",
            "--task-type",
            "debugging",
            "--completed",
            "--since",
            "2026-03-02",
            "--until",
            "2026-03-05T00:00:00",
            "--min-reward",
            "0.9",
            "--json",
        ),
        ("episodes", "list", "--in-flight", "--json"),
        ("episodes", "list", "--since", "last tuesday"),
    )
    assert table.code == 0, table.stderr
    assert "Episodes (5 shown" in table.stdout
    assert str(shared_seeded.in_flight_id) in table.stdout  # newest first

    got = {e["episode_id"] for e in json.loads(failures.stdout)}
    assert got == {str(i) for i in shared_seeded.failed_ids}

    episodes = json.loads(window.stdout)
    assert episodes, "expected successful web-api episodes in the window"
    for episode in episodes:
        assert episode["context"]["domain"] == "web-api"
        assert episode["task_type"] == "debugging"
        assert episode["reward"]["total"] >= 0.9
        assert "2026-03-02" <= episode["start_time"] < "2026-03-05"

    assert [e["episode_id"] for e in json.loads(in_flight.stdout)] == [
        str(shared_seeded.in_flight_id)
    ]
    check_error(bad_date, "--since", "ISO 8601")


def test_episodes_show(shared_cli: Any, shared_seeded: Any, check_error: Any) -> None:
    failed, first = str(shared_seeded.failed_ids[0]), str(shared_seeded.episode_ids[0])
    shown, as_json, with_patterns, unknown, malformed = shared_cli.many(
        ("episodes", "show", failed),
        ("episodes", "show", failed, "--json"),
        ("episodes", "show", first),
        ("episodes", "show", UNKNOWN),
        ("episodes", "show", "not-an-id"),
    )
    assert shown.code == 0, shown.stderr
    out = shown.stdout
    assert f"Episode {failed}" in out
    assert "Steps (3)" in out
    assert "AssertionError: expected 200, got 401" in out
    assert "Reward 0." in out
    assert "efficiency" in out
    assert "complexity bonus" in out
    assert "To improve" in out
    assert "longer timeout" in out
    data = json.loads(as_json.stdout)
    assert data["episode_id"] == failed
    assert len(data["steps"]) == 3
    assert with_patterns.code == 0, with_patterns.stderr
    assert "Patterns learned from it" in with_patterns.stdout
    assert str(shared_seeded.pattern_ids[0]) in with_patterns.stdout
    check_error(unknown, UNKNOWN, "does not exist in namespace 'cli-test'")
    check_error(malformed, "not a valid episode id")


def test_patterns(shared_cli: Any, shared_seeded: Any, check_error: Any) -> None:
    pattern_id = str(shared_seeded.pattern_ids[0])
    table, kinds, shown, as_json, unknown, malformed = shared_cli.many(
        ("patterns", "list", "--limit", "50"),
        ("patterns", "list", "--kind", "tool_sequence", "--json"),
        ("patterns", "show", pattern_id),
        ("patterns", "show", pattern_id, "--json"),
        ("patterns", "show", UNKNOWN),
        ("patterns", "show", "xyz"),
    )
    assert table.code == 0, table.stderr
    assert "pytest -> editor -> pytest" in table.stdout
    listed = json.loads(kinds.stdout)
    assert listed
    assert all(p["kind"] == "tool_sequence" for p in listed)
    assert shown.code == 0, shown.stderr
    assert "applied 4 (3 helped, 1 did not)" in shown.stdout
    assert "Evidence episodes (4 of 4 still stored)" in shown.stdout
    data = json.loads(as_json.stdout)
    assert data["effectiveness"]["times_applied"] == 4
    assert set(data["evidence_episode_ids"]) == {str(i) for i in shared_seeded.episode_ids[:4]}
    check_error(unknown, UNKNOWN, "does not exist")
    check_error(malformed, "not a valid pattern id")


def test_search(shared_cli: Any, check_error: Any) -> None:
    args = ("search", "Fix the failing auth test", "--domain", "web-api", "--tags", "auth")
    table, as_json, bad_tag, empty = shared_cli.many(
        (*args, "--include-below-floor", "--limit", "3"),
        (*args, "--include-below-floor", "--json"),
        ("search", "fix it", "--tags", "no spaces!"),
        ("search", "  "),
    )
    assert table.code == 0, table.stderr
    assert "Episodes for: Fix the failing auth test" in table.stdout
    assert " 1. " in table.stdout
    assert "Patterns" in table.stdout
    data = json.loads(as_json.stdout)
    assert data["episodes"], "the seeded auth episodes should be found"
    for found in data["episodes"]:
        assert found["score_breakdown"]
        assert abs(sum(found["score_breakdown"].values()) - found["score"]) < 1e-6
    assert data["patterns"]
    assert all("score_breakdown" in p for p in data["patterns"])
    check_error(bad_tag, "invalid tag")
    check_error(empty, "the task is empty")


def test_doctor_and_migrate(shared_cli: Any) -> None:
    table, as_json, migrated = shared_cli.many(("doctor",), ("doctor", "--json"), ("migrate",))
    assert table.code == 0, table.stderr
    for check in ("configuration", "connection", "schema", "contents", "sqlite file"):
        assert check in table.stdout
    checks = {c["name"]: c["status"] for c in json.loads(as_json.stdout)}
    assert checks["connection"] == "ok"
    assert checks["schema"] == "ok"
    assert migrated.code == 0, migrated.stderr
    assert f"schema version {SCHEMA_VERSION}" in migrated.stdout
    assert "up to date" in migrated.stdout


def test_bad_database_url_namespace_and_paths(
    shared_cli: Any, check_error: Any, tmp_path: Path
) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    commands = [
        ("--database-url", "foo://nowhere", "stats"),
        ("--database-url", "postgresql://u:secret@127.0.0.1:1/db", "stats"),
        ("--database-url", f"sqlite:///{blocked}/sub/memory.db", "episodes", "list"),
        ("--database-url", "foo://nowhere", "migrate"),
        ("--database-url", "foo://nowhere", "doctor"),
        ("--database-url", shared_cli.url, "--namespace", "bad space", "stats"),
    ]
    with_scheme, refused, folder, migrate, doctor, namespace = shared_cli.many_raw(*commands)
    check_error(with_scheme, "'foo'")
    check_error(refused, "127.0.0.1")
    assert "secret" not in refused.stderr + refused.stdout
    check_error(folder, "cannot create the folder")
    check_error(migrate, "'foo'")
    assert doctor.code == 1
    assert "fail" in doctor.stdout
    check_error(type(doctor)(doctor.code, "", doctor.stderr), "connection", "no store handles")
    check_error(namespace, "invalid namespace")


def test_demo_runs_and_explains_what_to_do_next(shared_cli: Any, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    result = shared_cli.raw("--database-url", url, "demo")
    assert result.code == 0, result.stderr
    assert "Learning curve" in result.stdout
    assert "without memory" in result.stdout
    assert "with memory-core" in result.stdout
    assert "Recommended plan:" in result.stdout
    assert "Explore it:" in result.stdout
    assert "For context [language:" in result.stdout  # brackets are not markup
    stats = json.loads(
        shared_cli.raw("--database-url", url, "--namespace", "demo", "stats", "--json").stdout
    )
    assert stats["episodes_completed"] == DEMO_TASKS
    # a second run starts from an empty memory again, in the next free namespace
    again = shared_cli.raw("--database-url", url, "demo")
    assert again.code == 0, again.stderr
    assert "namespace 'demo-2'" in again.stdout


def test_reading_commands_learn_nothing(cli: Any, seeded: Any) -> None:
    # The seed leaves two completed episodes unlearned; a command that reads leaves them
    # to a learner, even where the configuration says the memory learns in a process.
    first = cli("stats", "--json")
    assert first.code == 0, first.stderr
    assert json.loads(first.stdout)["episodes_unlearned"] == 2
    searched = cli.raw(
        "--database-url",
        seeded.url,
        "--namespace",
        seeded.namespace,
        "search",
        "fix the auth test",
        env={"MEMORY_CORE_LEARNING__MODE": "process"},
    )
    assert searched.code == 0, searched.stderr
    table = cli("stats")
    assert "not learned yet" in table.stdout
    store = SQLAlchemyEpisodeStore(seeded.url)
    try:
        assert len(store.unlearned_episode_ids(seeded.namespace)) == 2
    finally:
        store.close()


def test_doctor_checks_that_a_learner_process_can_open_the_database(shared_cli: Any) -> None:
    process = {"MEMORY_CORE_LEARNING__MODE": "process"}
    shared, in_memory = (
        shared_cli.raw("--database-url", url, "doctor", "--json", env=process)
        for url in (shared_cli.url, "sqlite://")
    )
    checks = {c["name"]: c for c in json.loads(shared.stdout)}
    assert checks["learning"]["status"] == "ok"
    assert checks["connection"]["status"] == "ok"
    assert in_memory.code == 1
    checks = {c["name"]: c for c in json.loads(in_memory.stdout)}
    assert checks["learning"]["status"] == "fail"
    assert "SQLite file or PostgreSQL" in checks["learning"]["detail"]
