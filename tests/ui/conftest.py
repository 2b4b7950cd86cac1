"""Fixtures for the web UI tests: a seeded SQLite file and the memory the app is built on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.support.ui_seed import NAMESPACE, Seeded, config_for, seed_ui_database

from memory_core import SyncSelfLearningMemory


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    """One seeded SQLite file shared by a module's read-only tests."""
    folder = tmp_path_factory.mktemp("ui")
    return seed_ui_database(f"sqlite:///{folder / 'memory.db'}")


@pytest.fixture(scope="module")
def ui_memory(seeded: Seeded) -> Iterator[SyncSelfLearningMemory]:
    """The memory the app is built on (start namespace ``ui-test``)."""
    with SyncSelfLearningMemory(config_for(seeded.url), namespace=NAMESPACE) as memory:
        yield memory
