"""Append-only numpy columns that grow by doubling (private helpers of the indexes)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Column", "Matrix"]


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
