"""Episode and pattern ids given as text (command line, MCP tools): parsed with a clear error."""

from __future__ import annotations

from uuid import UUID

from memory_core.errors import InvalidInputError

__all__ = ["parse_id"]


def parse_id(value: str, what: str, *, source: str) -> UUID:
    """Parse an episode or pattern id.

    Args:
        value: The text given.
        what: What the id names ("episode", "pattern"), for the error message.
        source: Where valid ids are found, for the error message.

    Raises:
        InvalidInputError: If ``value`` is not a UUID.
    """
    try:
        return UUID(value.strip())
    except ValueError:
        raise InvalidInputError(
            f"{value!r} is not a valid {what} id; ids are UUIDs such as "
            f"'3f2b8c1e-5d4a-4e7b-9c2d-1a2b3c4d5e6f' ({source})"
        ) from None
