"""Small deterministic helpers for tests and examples (no models, no downloads)."""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Sequence

__all__ = ["HashingEmbedder"]

_WORD = re.compile(r"[a-z0-9]+")


class HashingEmbedder:
    """A deterministic `Embedder`: hashed bag of character n-grams, L2-normalised.

    Texts sharing word fragments ("internationalization" / "internationalisation") get
    similar vectors. Good enough to exercise hybrid retrieval; not a language model.

    Args:
        dimensions: Vector length.
        n: Character n-gram length (words are padded with ``#`` on both sides).
    """

    def __init__(self, dimensions: int = 256, n: int = 3) -> None:
        self.dimensions = dimensions
        self.n = n
        self.calls = 0
        """Number of texts embedded so far (handy to check what was re-embedded)."""

    @property
    def name(self) -> str:
        """Stable identifier including the parameters."""
        return f"hashing-{self.n}gram-{self.dimensions}"

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Return one unit vector per text (all zeros for a text without letters or digits)."""
        self.calls += len(texts)
        return [self._one(text) for text in texts]

    def _one(self, text: str) -> list[float]:
        vector = [0.0] * self.dimensions
        for word in _WORD.findall(text.lower()):
            padded = f"#{word}#"
            for i in range(max(1, len(padded) - self.n + 1)):
                gram = padded[i : i + self.n]
                h = zlib.crc32(gram.encode())
                vector[h % self.dimensions] += 1.0 if (h >> 16) & 1 else -1.0
        norm = math.sqrt(sum(v * v for v in vector))
        return [v / norm for v in vector] if norm > 0 else vector
