"""Shared fixtures: database URLs (SQLite file + real PostgreSQL), memories, namespaces.

PostgreSQL tests need ``MEMORY_CORE_TEST_POSTGRES_URL`` (e.g.
``postgresql://user:pw@127.0.0.1:5432/db``). Without it they are skipped with a reason,
except in CI (``CI=true``) or with ``MEMORY_CORE_REQUIRE_POSTGRES=1``, where a missing
server fails the run instead: ``.ci/run`` starts one.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from memory_core import MemoryConfig, SQLAlchemyEpisodeStore, SyncSelfLearningMemory

POSTGRES_ENV = "MEMORY_CORE_TEST_POSTGRES_URL"

_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:  # make ``tests.support`` importable (--import-mode=importlib)
    sys.path.insert(0, _ROOT)


def postgres_url() -> str | None:
    """The PostgreSQL URL for tests, skipping (or failing in CI) when none is configured."""
    url = os.environ.get(POSTGRES_ENV)
    if url:
        return url
    if os.environ.get("CI", "").lower() == "true" or os.environ.get("MEMORY_CORE_REQUIRE_POSTGRES"):
        pytest.fail(f"PostgreSQL is required here but {POSTGRES_ENV} is not set", pytrace=False)
    pytest.skip(
        f"PostgreSQL tests need a server: set {POSTGRES_ENV}=postgresql://user:pw@127.0.0.1/db "
        "(.ci/run shows how to start one)"
    )
    return None


@pytest.fixture(scope="session")
def _postgres_ready() -> str | None:
    """The PostgreSQL URL, if configured.

    Tables are created on first use and never dropped here: every test works in its own
    namespace, so runs sharing one database do not disturb each other (``.ci/run`` starts
    from a fresh database).
    """
    return os.environ.get(POSTGRES_ENV) or None


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, _postgres_ready: str | None
) -> str:
    """A real database URL: a SQLite file in tmp_path, or the test PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'memory.db'}"
    url = postgres_url()
    assert url is not None
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file URL (for tests that are about SQLite only)."""
    return f"sqlite:///{tmp_path / 'memory.db'}"


@pytest.fixture
def namespace() -> str:
    """A namespace unique to the test, so tests sharing a PostgreSQL database never collide."""
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def config(database_url: str) -> MemoryConfig:
    """A config on the parametrised database, no plugins from the environment."""
    return MemoryConfig(database_url=database_url, load_plugins=False)


@pytest.fixture
def memory(config: MemoryConfig, namespace: str) -> Iterator[SyncSelfLearningMemory]:
    """A blocking memory on the parametrised database."""
    with SyncSelfLearningMemory(config, namespace=namespace) as mem:
        yield mem


@pytest.fixture
def store(database_url: str) -> Iterator[SQLAlchemyEpisodeStore]:
    """A store on the parametrised database (SQLite file or PostgreSQL)."""
    opened = SQLAlchemyEpisodeStore(database_url)
    yield opened
    opened.close()
