"""Schema migrations: Alembic revisions shipped inside the package, run on open.

`upgrade_schema` brings a database to the newest revision on a connection the caller has
opened (and locked): a new database gets every revision, a database made before migrations
were tracked by Alembic (it has ``mc_schema_version`` but no ``mc_alembic_version``) is first
stamped at the revision of its recorded schema version. A database already at the newest
revision costs two small queries and does not import Alembic.

The revisions live in ``versions/``, one per schema version; a new schema change is a new
revision appended there (``down_revision`` = the current head), with the models in
``memory_core.storage._schema`` changed to match and `HEAD` moved to it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text

from memory_core.errors import StorageError
from memory_core.storage._schema import SCHEMA_VERSION

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "HEAD",
    "VERSION_TABLE",
    "MigrationResult",
    "alembic_config",
    "current_revision",
    "upgrade_schema",
]

VERSION_TABLE = "mc_alembic_version"
"""Where Alembic records the revision (prefixed: the database may hold other apps' tables)."""

HEAD = "0006"
"""The newest revision in ``versions/``."""

_REVISION_OF_VERSION = {1: "0001", 2: "0002", 3: "0003", 4: "0004", 5: "0005", 6: "0006"}
"""The revision that produced each schema version recorded in ``mc_schema_version``."""

SCRIPT_LOCATION = Path(__file__).resolve().parent

logger = logging.getLogger("memory_core.storage")


@dataclass(frozen=True, slots=True)
class MigrationResult:
    """What `upgrade_schema` found and left.

    Attributes:
        from_revision: The revision before (None: a new, empty database).
        to_revision: The revision after (always `HEAD`).
    """

    from_revision: str | None
    to_revision: str

    @property
    def upgraded(self) -> bool:
        """True when revisions ran (or a legacy database was stamped)."""
        return self.from_revision != self.to_revision


def alembic_config(connection: Connection) -> Config:
    """An Alembic config whose scripts are the package's and whose connection is given."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.attributes["connection"] = connection
    return config


def _state(connection: Connection) -> tuple[str | None, int | None]:
    tables = set(inspect(connection).get_table_names())
    revision = None
    if VERSION_TABLE in tables:
        revision = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()
    version = None
    if "mc_schema_version" in tables:
        version = connection.execute(
            text("SELECT version FROM mc_schema_version WHERE id = 1")
        ).scalar()
    return (None if revision is None else str(revision), None if version is None else int(version))


def current_revision(connection: Connection) -> str | None:
    """The Alembic revision recorded in the database (None when it has none yet)."""
    return _state(connection)[0]


def _newer(what: str) -> StorageError:
    return StorageError(
        f"the database schema is {what}, newer than this memory-core understands "
        f"(schema version {SCHEMA_VERSION}, revision {HEAD}); upgrade memory-core"
    )


def upgrade_schema(connection: Connection) -> MigrationResult:
    """Bring the database on ``connection`` to the newest revision (in its transaction).

    Raises:
        StorageError: The database was written by a newer memory-core.
    """
    revision, version = _state(connection)
    if version is not None and version > SCHEMA_VERSION:
        raise _newer(f"version {version}")
    if revision == HEAD and version == SCHEMA_VERSION:
        return MigrationResult(HEAD, HEAD)

    from alembic import command
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    config = alembic_config(connection)
    if revision is not None:
        try:
            ScriptDirectory.from_config(config).get_revision(revision)
        except CommandError:
            raise _newer(f"at revision {revision!r}") from None
    stamp = None
    if version is not None:
        recorded = _REVISION_OF_VERSION.get(version)
        if recorded is None:
            raise StorageError(f"the database records an unknown schema version {version}")
        # Before Alembic (no revision), or a revision ahead of the recorded version.
        if revision is None or revision > recorded:
            stamp = recorded
    elif revision is None and "mc_episodes" in inspect(connection).get_table_names():
        stamp = _REVISION_OF_VERSION[1]  # tables without any version record: schema 1
    if stamp is not None:
        command.stamp(config, stamp, purge=True)
    command.upgrade(config, "head")
    logger.info("upgraded the database schema from revision %s to %s", revision, HEAD)
    return MigrationResult(revision, HEAD)
