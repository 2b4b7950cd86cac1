"""``memory-core ui``: serve the web UI for one database (``memory-core[ui]``)."""

from __future__ import annotations

import ipaddress
import socket
import threading
import webbrowser
from typing import Annotated
from urllib.parse import quote

import typer

from memory_core.cli._common import console, state
from memory_core.errors import InvalidInputError
from memory_core.memory import SyncSelfLearningMemory

__all__ = ["is_loopback", "ui_command"]

LOOPBACK_NAMES = ["127.0.0.1", "localhost"]
"""Host headers accepted when serving on an IPv4 loopback address (against DNS rebinding)."""


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses (127.0.0.0/8, ::1)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_port(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host.strip("[]"), port))
        except OSError as exc:
            raise InvalidInputError(
                f"cannot listen on {host}:{port}: {exc.strerror}; pick another --port or --host"
            ) from None


def ui_command(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option(help="Address to listen on; other than loopback needs --token.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8000,
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the UI in the default web browser.")
    ] = False,
    allow_writes: Annotated[
        bool, typer.Option("--allow-writes", help="Offer episode deletion (off: read-only).")
    ] = False,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="MEMORY_CORE_UI_TOKEN",
            help="Access token every request must carry (bearer header or ?token= once).",
            show_envvar=True,
        ),
    ] = None,
) -> None:
    """Serve a local web UI: overview, episodes, search with score breakdowns, patterns.

    The global --namespace picks the namespace shown first; a switcher lists the others.
    """
    from memory_core.ui import create_app, require_ui

    require_ui("uvicorn")
    import uvicorn

    token = token.strip() if token else None
    loopback = is_loopback(host)
    if not loopback and not token:
        raise InvalidInputError(
            f"refusing to serve on {host}, which is not a loopback address, without --token; "
            "pass --token SECRET (or MEMORY_CORE_UI_TOKEN), or keep --host 127.0.0.1"
        )
    if token is not None and len(token) < 8:
        raise InvalidInputError("--token is too short; use at least 8 characters")
    _check_port(host, port)
    options = state(ctx)
    config = options.config()
    # Browsing must not count as retrieval: searches here do not touch pattern statistics.
    config = config.model_copy(
        update={"retrieval": config.retrieval.model_copy(update={"record_retrievals": False})}
    )
    shown = f"[{host.strip('[]')}]" if ":" in host else host
    url = f"http://{shown}:{port}/"
    with SyncSelfLearningMemory(config, namespace=options.namespace or "default") as memory:
        app = create_app(
            memory,
            allow_writes=allow_writes,
            token=token,
            allowed_hosts=LOOPBACK_NAMES if loopback and ":" not in host else None,
        )
        visit = f"{url}?token={quote(token)}" if token else url
        mode = "writes allowed (episode deletion)" if allow_writes else "read-only"
        console.print(
            f"memory-core UI for {memory.stats().database_url}, namespace "
            f"{memory.namespace!r}, {mode}: {visit}  (Ctrl+C to stop)",
            soft_wrap=True,
        )
        if open_browser:
            threading.Timer(1.0, webbrowser.open, args=(visit,)).start()
        uvicorn.run(app, host=host.strip("[]"), port=port, log_level="warning")
