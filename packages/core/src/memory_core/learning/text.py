"""Text normalisation shared by the extractors: error signatures and decision keywords."""

from __future__ import annotations

import re

__all__ = ["error_signature", "is_decision", "normalize_text"]

_MAX_SIGNATURE = 160

# Order matters: quoted strings and paths first, so numbers inside them are not seen twice.
_SIGNATURE_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`"), "<str>"),
    (re.compile(r"\b[a-z][a-z0-9+.-]*://\S+"), "<url>"),
    (re.compile(r"(?:[a-z]:)?(?:[\\/][\w.~-]+){2,}[\\/]?|(?:\.{1,2}[\\/])[\w.\\/~-]+"), "<path>"),
    (
        re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"),
        "<id>",
    ),
    (re.compile(r"\b0x[0-9a-f]+\b"), "<id>"),
    (re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b"), "<id>"),
    (re.compile(r"\b\w+@[\w.-]+\.\w+\b"), "<email>"),
    (re.compile(r"[-+]?\d+(?:[.,:]\d+)*"), "<n>"),
    (re.compile(r"\s+"), " "),
)

# Short words count only as whole words; longer stems also match as word prefixes
# ("validating", "checks"), never inside another word ("is" does not fire on "analysis").
_DECISION = re.compile(
    r"\b(?:if|when|whether|unless|is|has|should)\b"
    r"|\b(?:check|verif|validat|ensur|decid|determin|choos|select|compar|confirm|assert)\w*",
)


def normalize_text(text: str) -> str:
    """Lowercase, trim and collapse whitespace."""
    return " ".join(text.lower().split())


def error_signature(message: str, *, max_length: int = _MAX_SIGNATURE) -> str:
    """A stable signature for an error message, so the same failure groups together.

    Lowercases and replaces quoted strings, URLs, paths, UUIDs, hex ids, e-mail addresses and
    numbers by placeholders, e.g. ``"FileNotFoundError: '/tmp/a1.txt' (errno 2)"`` and
    ``"FileNotFoundError: '/var/b.txt' (errno 2)"`` both become
    ``"filenotfounderror: <str> (errno <n>)"``. Longer results are cut at ``max_length``.
    """
    text = message.strip().lower()
    for pattern, placeholder in _SIGNATURE_RULES:
        text = pattern.sub(placeholder, text)
    text = text.strip(" .:;,")
    if len(text) > max_length:
        text = text[:max_length].rstrip() + "…"
    return text or "unknown error"


def is_decision(action: str) -> bool:
    """True when a step's action reads like a decision or check (whole words or prefixes)."""
    return _DECISION.search(action.lower()) is not None
