"""A local web UI to browse, search and understand a memory (``pip install 'memory-core[ui]'``).

``create_app(memory)`` returns a Starlette (ASGI) application with these pages:

* ``/``: counts, the learning curve, recent episodes and top patterns;
* ``/episodes``: the episodes, filtered by domain, task type, outcome, time and reward, paged;
* ``/episodes/{id}``: context, steps, reward breakdown, reflection and learned patterns;
* ``/search?q=...``: the episodes and patterns an agent would get, with score breakdowns;
* ``/patterns`` and ``/patterns/{id}``: support, success rate, effectiveness and evidence.

Every page takes ``?ns=NAME`` to look at another namespace of the same database. The app is
read-only unless ``allow_writes`` is set (then episodes can be deleted, after a
confirmation), and with ``token`` every request must carry it. ``memory-core ui`` serves it
with uvicorn.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from memory_core.errors import MissingDependencyError
from memory_core.memory import SyncSelfLearningMemory

if TYPE_CHECKING:
    from starlette.applications import Starlette

__all__ = ["UI_EXTRA_HINT", "create_app", "require_ui"]

UI_EXTRA_HINT = "pip install 'memory-core[ui]'"
"""How to install what the web UI needs."""


def require_ui(*modules: str) -> None:
    """Import the web UI's dependencies, or say which extra to install.

    Args:
        modules: Extra modules needed besides Starlette, Jinja2 and python-multipart
            (e.g. ``"uvicorn"``).

    Raises:
        MissingDependencyError: If one of them is not installed.
    """
    for name in ("starlette", "jinja2", "python_multipart", *modules):
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise MissingDependencyError(
                f"the web UI needs {name}, which is not installed: {UI_EXTRA_HINT}"
            ) from exc


def create_app(
    memory: SyncSelfLearningMemory,
    *,
    allow_writes: bool = False,
    token: str | None = None,
    allowed_hosts: Sequence[str] | None = None,
) -> Starlette:
    """Build the web UI for a memory's database, starting at its namespace.

    Other namespaces of the same database are opened on the memory's store when a page asks
    for them (``?ns=NAME``) and closed when the app shuts down; ``memory`` itself stays
    open (the caller owns it). Searches rank exactly as ``memory.search_episodes`` and
    ``memory.search_patterns`` do, so with ``record_retrievals`` on they count as retrievals.

    Args:
        memory: The memory to show; its store must answer the aggregate queries of
            `memory_core.storage.browse.BrowsableStore` (the built-in store does).
        allow_writes: Offer episode deletion (POST, after a confirmation page); otherwise
            every write is refused with 403.
        token: When set, every request needs it: ``Authorization: Bearer <token>``, or a
            first visit with ``?token=<token>`` that stores it in a cookie; otherwise 401.
        allowed_hosts: Host headers to accept (others get 400), e.g. the loopback names,
            against DNS rebinding; None accepts any.

    Raises:
        MissingDependencyError: If the ``ui`` extra is not installed.
        ConfigurationError: If the memory's store cannot answer the UI's queries.
    """
    require_ui()
    from memory_core.ui.app import build_app

    return build_app(memory, allow_writes=allow_writes, token=token, allowed_hosts=allowed_hosts)
