"""``memory-core prune`` and ``memory-core namespaces list|delete`` in real subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys

from sqlalchemy import create_engine
from tests.cli.conftest import Cli, Seeded, assert_clean_error, seed_database
from tests.support.schema_v1 import create_schema_v1

from memory_core.storage._schema import SCHEMA_VERSION
from memory_core.storage.migrations import HEAD


def _namespaces(cli: Cli) -> dict[str, dict[str, int]]:
    result = cli("namespaces", "list", "--json")
    assert result.code == 0, result.stderr
    return {row["namespace"]: row for row in json.loads(result.stdout)}


def test_namespaces_are_listed_and_deleted_one_at_a_time(cli: Cli, seeded: Seeded) -> None:
    seed_database(seeded.url, "other", count=5)
    listed = _namespaces(cli)
    assert listed["other"]["episodes"] == 6  # five completed, one in flight
    assert listed["cli-test"]["episodes"] == len(seeded.episode_ids) + 1
    assert listed["cli-test"]["patterns"] == 3
    assert listed["cli-test"]["heuristics"] == 1
    assert listed["cli-test"]["bytes"] > 0
    table = cli("namespaces", "list")
    assert "other" in table.stdout
    assert "cli-test" in table.stdout

    command = ["--database-url", cli.url, "namespaces", "delete", "other"]
    refused = subprocess.run(
        [sys.executable, "-m", "memory_core", *command],
        input="n\n",
        capture_output=True,
        text=True,
        env=cli.env,
        timeout=120,
        check=False,
    )
    assert refused.returncode != 0
    assert "cannot be undone" in refused.stdout
    assert "other" in _namespaces(cli)

    deleted = cli("namespaces", "delete", "other", "--yes")
    assert deleted.code == 0, deleted.stderr
    assert "deleted namespace 'other': 6 episodes" in deleted.stdout
    assert _namespaces(cli) == {"cli-test": listed["cli-test"]}
    assert_clean_error(cli("namespaces", "delete", "other", "--yes"), "no namespace 'other'")
    assert_clean_error(cli("namespaces", "delete", "no/such", "--yes"), "invalid namespace")


def test_prune_previews_then_deletes(cli: Cli, seeded: Seeded) -> None:
    preview = cli("prune", "--dry-run", "--max-episodes", "10", "--json")
    assert preview.code == 0, preview.stderr
    report = json.loads(preview.stdout)
    learned = len(seeded.episode_ids) - 2  # the last two wait for extraction
    assert report["dry_run"] is True
    assert report["episodes_deleted"] == len(seeded.episode_ids) - 10
    assert report["episodes_deleted"] <= learned
    assert _namespaces(cli)["cli-test"]["episodes"] == len(seeded.episode_ids) + 1

    table = cli("prune", "--max-episodes", "10")
    assert table.code == 0, table.stderr
    assert "episodes deleted" in table.stdout
    assert _namespaces(cli)["cli-test"]["episodes"] == 11  # ten completed, one in flight
    assert_clean_error(cli("prune"), "no retention limit")


def test_migrate_upgrades_a_schema_1_database(sqlite_url: str, cli_env: dict[str, str]) -> None:
    engine = create_engine(sqlite_url)
    with engine.begin() as conn:
        create_schema_v1(conn)
    engine.dispose()
    cli = Cli(sqlite_url, "default", cli_env)
    first, second = cli("migrate"), cli("migrate")
    assert first.code == 0, first.stderr
    assert f"upgraded from revision none (new or pre-Alembic database) to {HEAD}" in first.stdout
    assert f"schema version {SCHEMA_VERSION}" in first.stdout
    assert "up to date" in second.stdout
