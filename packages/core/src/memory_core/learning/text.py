"""Text normalisation shared by the extractors: error signatures and decision keywords."""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["error_signature", "is_decision", "normalize_text"]

_MAX_SIGNATURE = 160

# One pass over the text; earlier alternatives win, so numbers inside quoted strings, URLs
# and paths are not replaced twice.
_SIGNATURE = re.compile(
    r"(?P<str>'[^']*'|\"[^\"]*\"|`[^`]*`)"
    r"|(?P<url>\b[a-z][a-z0-9+.-]*://\S+)"
    r"|(?P<path>(?:[a-z]:)?(?:[\\/][\w.~-]+){2,}[\\/]?|\.{1,2}[\\/][\w.\\/~-]+)"
    r"|(?P<id>\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"
    r"|\b0x[0-9a-f]+\b|\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b)"
    r"|(?P<email>\b\w+@[\w.-]+\.\w+\b)"
    r"|(?P<n>[-+]?\d+(?:[.,:]\d+)*)"
)


def _placeholder(match: re.Match[str]) -> str:
    return f"<{match.lastgroup}>"


# Short words count only as whole words; longer stems also match as word prefixes
# ("validating", "checks"), never inside another word ("is" does not fire on "analysis").
_DECISION = re.compile(
    r"\b(?:if|when|whether|unless|is|has|should)\b"
    r"|\b(?:check|verif|validat|ensur|decid|determin|choos|select|compar|confirm|assert)\w*",
)


_MEMO_SIZE = 16_384
_normalized: dict[str, str] = {}  # str -> str only: the garbage collector never scans it


def normalize_text(text: str) -> str:
    """Lowercase, trim and collapse whitespace.

    Memoised: learning sees the same tool names, conditions and actions again and again.
    """
    found = _normalized.get(text)
    if found is None:
        if len(_normalized) >= _MEMO_SIZE:
            _normalized.clear()
        found = _normalized[text] = " ".join(text.lower().split())
    return found


@lru_cache(maxsize=4096)
def error_signature(message: str, *, max_length: int = _MAX_SIGNATURE) -> str:
    """A stable signature for an error message, so the same failure groups together.

    Lowercases and replaces quoted strings, URLs, paths, UUIDs, hex ids, e-mail addresses and
    numbers by placeholders, e.g. ``"FileNotFoundError: '/tmp/a1.txt' (errno 2)"`` and
    ``"FileNotFoundError: '/var/b.txt' (errno 2)"`` both become
    ``"filenotfounderror: <str> (errno <n>)"``. Longer results are cut at ``max_length``.
    """
    text = " ".join(_SIGNATURE.sub(_placeholder, message.lower()).split()).strip(" .:;,")
    if len(text) > max_length:
        text = text[:max_length].rstrip() + "…"
    return text or "unknown error"


_decisions: dict[str, bool] = {}


def is_decision(action: str) -> bool:
    """True when a step's action reads like a decision or check (whole words or prefixes).

    Memoised like `normalize_text`: the same actions come back episode after episode.
    """
    found = _decisions.get(action)
    if found is None:
        if len(_decisions) >= _MEMO_SIZE:
            _decisions.clear()
        found = _decisions[action] = _DECISION.search(action.lower()) is not None
    return found
