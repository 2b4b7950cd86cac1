"""Shared fixtures: database URLs (SQLite file + real PostgreSQL), memories, namespaces.

PostgreSQL tests run against ``MEMORY_CORE_TEST_POSTGRES_URL`` when it is set (e.g.
``postgresql://user:pw@127.0.0.1:5432/db``; ``.ci/run`` starts such a server), else
against a private PostgreSQL server this run starts from the ``pgserver`` package (a test
dependency: PostgreSQL's own binaries in a wheel), in a temporary directory deleted at
exit. Either way they run: a machine with Python and pip has all they need.
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from memory_core import MemoryConfig, SQLAlchemyEpisodeStore, SyncSelfLearningMemory

POSTGRES_ENV = "MEMORY_CORE_TEST_POSTGRES_URL"

_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:  # make ``tests.support`` importable (--import-mode=importlib)
    sys.path.insert(0, _ROOT)


def postgres_url() -> str:
    """The PostgreSQL server of the tests: ``MEMORY_CORE_TEST_POSTGRES_URL``, else a private one.

    Tables are created on first use and never dropped here: every test works in its own
    namespace, so runs sharing one database do not disturb each other.
    """
    return os.environ.get(POSTGRES_ENV) or _private_postgres()


@functools.cache
def _private_postgres() -> str:
    """Start a PostgreSQL server for this run (stopped, its files deleted, at exit)."""
    with warnings.catch_warnings():  # it may warn that XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        try:
            import pgserver
        except ImportError:
            pytest.fail(
                f"PostgreSQL tests need a server: install the test dependencies (pip install "
                f"-r requirements-dev.txt, which brings pgserver) or set {POSTGRES_ENV}",
                pytrace=False,
            )
        data = tempfile.mkdtemp(prefix="memory-core-test-pg-")
        server = pgserver.get_server(data, cleanup_mode="delete")
        return str(server.get_uri())


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A real database URL: a SQLite file in tmp_path, or the test PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'memory.db'}"
    return postgres_url()


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
