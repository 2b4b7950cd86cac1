"""Reading query parameters: typed values, or `InvalidInputError` saying what to fix (400)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import Enum
from typing import TypeVar
from uuid import UUID

from memory_core.errors import InvalidInputError

__all__ = ["get_date", "get_enum", "get_float", "get_int", "get_text", "get_uuid"]

E = TypeVar("E", bound=Enum)


def get_text(params: Mapping[str, str], name: str, max_length: int = 10_000) -> str | None:
    """A stripped text parameter (None when absent or blank)."""
    value = (params.get(name) or "").strip()
    if len(value) > max_length:
        raise InvalidInputError(f"{name} is {len(value)} characters long; at most {max_length}")
    return value or None


def get_int(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """A whole number in [low, high] (``default`` when absent or blank)."""
    raw = get_text(params, name, 40)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInputError(f"{name}={raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise InvalidInputError(f"{name}={value} is out of range; use {low} to {high}")
    return value


def get_float(params: Mapping[str, str], name: str) -> float | None:
    """A finite number (None when absent or blank)."""
    raw = get_text(params, name, 40)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInputError(f"{name}={raw!r} is not a number, e.g. 0.5") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise InvalidInputError(f"{name}={raw!r} is not a finite number")
    return value


def get_date(params: Mapping[str, str], name: str) -> datetime | None:
    """An ISO 8601 date or date-time (naive values are UTC; None when absent or blank)."""
    raw = get_text(params, name, 40)
    if raw is None:
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInputError(
            f"{name}={raw!r} is not a date; use ISO 8601, e.g. 2026-03-01 or 2026-03-01T09:30"
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def get_enum(params: Mapping[str, str], name: str, kind: type[E]) -> E | None:
    """One of an enum's values (None when absent or blank)."""
    raw = get_text(params, name, 100)
    if raw is None:
        return None
    try:
        return kind(raw)
    except ValueError:
        allowed = ", ".join(str(m.value) for m in kind)
        raise InvalidInputError(f"{name}={raw!r} is not one of: {allowed}") from None


def get_uuid(value: str) -> UUID | None:
    """A UUID path segment, or None when it is not one."""
    try:
        return UUID(value)
    except ValueError:
        return None
