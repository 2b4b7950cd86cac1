"""Append-only storage of the indexes (private helpers).

Numpy columns that grow by doubling, and `array.array` buffers that numpy views read.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

__all__ = ["Column", "Matrix", "extended"]

T = TypeVar("T", int, float)


def extended(buffer: array[T], values: Sequence[T]) -> array[T]:
    """``buffer`` with ``values`` appended: itself, or a longer copy while a view pins it.

    Searches read the buffers through numpy views (``np.frombuffer``), and an `array.array`
    cannot change size while a view of it lives. Views live only within a search, unless
    something keeps one: a traceback kept after an exception inside a search
    (``sys.last_traceback`` in a REPL), a debugger, a tool walking ``gc.get_objects()``.
    Then the view keeps the old buffer and the index goes on with the copy.
    """
    try:
        buffer.extend(values)
    except BufferError:
        buffer = array(buffer.typecode, buffer)
        buffer.extend(values)
    return buffer


class Column:
    """A 1-d numpy array with amortised O(1) append; ``values`` is a view of the used part."""

    __slots__ = ("_data", "_fill", "size")

    def __init__(self, dtype: npt.DTypeLike, fill: Any = 0) -> None:
        self._fill = fill
        self._data: np.ndarray[Any, Any] = np.full(64, fill, dtype=dtype)
        self.size = 0

    def append(self, value: Any) -> None:
        """Add one value at the end."""
        if self.size == len(self._data):
            grown = np.full(len(self._data) * 2, self._fill, dtype=self._data.dtype)
            grown[: self.size] = self._data
            self._data = grown
        self._data[self.size] = value
        self.size += 1

    @property
    def values(self) -> np.ndarray[Any, Any]:
        """The used part of the column (a view: do not keep it across appends)."""
        return self._data[: self.size]

    @property
    def nbytes(self) -> int:
        """Bytes allocated (including spare capacity)."""
        return int(self._data.nbytes)


class Matrix:
    """A 2-d float32 array of fixed width with amortised O(1) row append."""

    __slots__ = ("_data", "size")

    def __init__(self, width: int) -> None:
        self._data: np.ndarray[Any, np.dtype[np.float32]] = np.zeros((64, width), np.float32)
        self.size = 0

    @property
    def width(self) -> int:
        """Number of columns."""
        return int(self._data.shape[1])

    def append(self, row: np.ndarray[Any, np.dtype[np.float32]]) -> None:
        """Add one row at the end."""
        if self.size == self._data.shape[0]:
            grown = np.zeros((self._data.shape[0] * 2, self.width), np.float32)
            grown[: self.size] = self._data[: self.size]
            self._data = grown
        self._data[self.size] = row
        self.size += 1

    @property
    def values(self) -> np.ndarray[Any, np.dtype[np.float32]]:
        """The used rows (a view)."""
        return self._data[: self.size]

    @property
    def nbytes(self) -> int:
        """Bytes allocated (including spare capacity)."""
        return int(self._data.nbytes)
