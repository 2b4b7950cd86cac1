"""The web UI's Starlette application: pages, access control and error pages.

Imported only through `memory_core.ui.create_app`, which checks that the ``ui`` extra is
installed first.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import threading
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from enum import StrEnum
from typing import Any, cast
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import URL
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from memory_core._engine import validate_namespace
from memory_core.errors import (
    ConfigurationError,
    EpisodeNotFoundError,
    InvalidInputError,
    MemoryCoreError,
    PatternNotFoundError,
)
from memory_core.formatting import format_pattern
from memory_core.memory import SyncSelfLearningMemory
from memory_core.models import (
    Episode,
    Pattern,
    PatternKind,
    RetrievedEpisode,
    TaskType,
    normalize_tags,
)
from memory_core.storage.base import EpisodeQuery
from memory_core.storage.browse import BrowsableStore
from memory_core.ui.overview import Overview, build_overview
from memory_core.ui.params import get_date, get_enum, get_float, get_int, get_text, get_uuid

__all__ = ["TOKEN_COOKIE", "build_app"]

_LEFT_OUT_LOOKAHEAD = 50
"""Extra ranked results the search page reads to find those below the relevance floor."""

TOKEN_COOKIE = "memory_core_token"
"""The cookie that carries the access token after a ``?token=`` visit."""

logger = logging.getLogger("memory_core.ui")

PAGE_SIZE = 25
NAMESPACES_TTL = 5.0
OVERVIEW_MIN_AGE = 5.0
"""An overview is recomputed at most this often (seconds), however busy the memory."""
OVERVIEW_MAX_AGE = 30.0
"""An overview is reused while nothing changed in the namespace, for at most this long."""
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        b"img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
        b"form-action 'self'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]


class OutcomeFilter(StrEnum):
    """Outcomes the episode list filters on (``in_flight``: not completed yet)."""

    SUCCESS = "success"
    PARTIAL_SUCCESS = "partial_success"
    FAILURE = "failure"
    ABSTAINED = "abstained"
    IN_FLIGHT = "in_flight"


class UiState:
    """The memories the app serves, one per namespace, all on the start memory's store."""

    def __init__(self, memory: SyncSelfLearningMemory, *, allow_writes: bool) -> None:
        store = memory.engine.store
        if not isinstance(store, BrowsableStore):
            raise ConfigurationError(
                f"the web UI needs a store with aggregate queries (memory_core.storage."
                f"browse.BrowsableStore); {type(store).__name__} has none"
            )
        self.start = memory
        self.store: BrowsableStore = store
        self.allow_writes = allow_writes
        self.csrf = secrets.token_urlsafe(32)
        self._memories = {memory.namespace: memory}
        self._opened: list[SyncSelfLearningMemory] = []
        self._lock = threading.Lock()
        self._namespaces: tuple[float, list[tuple[str, int]]] = (0.0, [])
        self._overviews: dict[str, tuple[float, int, Overview]] = {}
        self._domains: dict[str, tuple[float, list[tuple[str, int]]]] = {}

    def memory(self, namespace: str) -> SyncSelfLearningMemory:
        """The memory of ``namespace``, opened on the shared store on first use.

        Raises:
            InvalidInputError: For a malformed namespace name.
            HTTPException: 404 for a namespace that holds nothing (besides the start one).
        """
        namespace = validate_namespace(namespace)
        with self._lock:
            found = self._memories.get(namespace)
        if found is not None:
            return found
        if not any(name == namespace for name, _ in self.namespaces(fresh=True)):
            raise HTTPException(
                404, f"the database has no namespace {namespace!r}; pick one in the switcher"
            )
        with self._lock:
            found = self._memories.get(namespace)
            if found is None:
                config = self.start.config
                if config.learning.effective_mode == "process":
                    # On the start memory's store it cannot run a learner process of its
                    # own: its episodes are left to learners, as in external mode.
                    learning = config.learning.model_copy(update={"mode": "external"})
                    config = config.model_copy(update={"learning": learning})
                found = SyncSelfLearningMemory(
                    config,
                    namespace=namespace,
                    store=self.start.engine.store,
                    embedder=getattr(self.start.engine.retrieval, "_embedder", None),
                    plugin_manager=self.start.plugin_manager,
                )
                self._memories[namespace] = found
                self._opened.append(found)
            return found

    def namespaces(self, *, fresh: bool = False) -> list[tuple[str, int]]:
        """Namespaces with their episode counts (re-read at most every few seconds)."""
        at, cached = self._namespaces
        if fresh or time.monotonic() - at > NAMESPACES_TTL:
            cached = self.store.list_namespaces()
            self._namespaces = (time.monotonic(), cached)
        return cached

    def domains(self, namespace: str) -> list[tuple[str, int]]:
        """The namespace's domains with episode counts (re-read at most every few seconds)."""
        at, cached = self._domains.get(namespace, (0.0, []))
        if time.monotonic() - at > NAMESPACES_TTL:
            cached = self.store.episode_domains(namespace)
            self._domains[namespace] = (time.monotonic(), cached)
        return cached

    def overview(self, memory: SyncSelfLearningMemory) -> Overview:
        """The namespace's overview, reused until the memory changes (within limits).

        It is recomputed when the change feed moved (an episode completed or was deleted,
        patterns were learned) and the cached one is `OVERVIEW_MIN_AGE` old, or when it is
        `OVERVIEW_MAX_AGE` old (in-flight episodes do not show in the change feed).
        """
        namespace = memory.namespace
        seq = memory.engine.store.last_change_seq(namespace)
        now = time.monotonic()
        cached = self._overviews.get(namespace)
        if cached is not None:
            at, seen, data = cached
            age = now - at
            if age < OVERVIEW_MIN_AGE or (seen == seq and age < OVERVIEW_MAX_AGE):
                return data
        data = build_overview(memory, self.store)
        self._overviews[namespace] = (now, seq, data)
        return data

    def forget_overview(self, namespace: str) -> None:
        """Drop the cached overview of a namespace (after a write made here)."""
        self._overviews.pop(namespace, None)

    def warm(self) -> None:
        """Build the start namespace's retrieval index now, so the first search is quick."""
        try:
            self.start.search_episodes("", None, 1)
        except Exception:  # closed meanwhile, or the database is down: the search will say
            logger.debug("warming the retrieval index failed", exc_info=True)

    def close(self) -> None:
        """Close the memories opened here (not the start memory, which the caller owns)."""
        with self._lock:
            opened, self._opened = self._opened, []
        for memory in opened:
            memory.close()


# ------------------------------------------------------------------ templates


@pass_context
def _link(context: Context, path: str, **params: Any) -> str:
    """A URL on this site keeping the current namespace (when not the start one)."""
    query = {k: v for k, v in params.items() if v is not None and v != ""}
    namespace = context.get("ns")
    if namespace is not None and namespace != context.get("start_ns") and "ns" not in query:
        query["ns"] = namespace
    return path + ("?" + urlencode(query) if query else "")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _bar_parts(breakdown: dict[str, float]) -> list[tuple[str, float, float]]:
    """(component, value, bar width %) per component, largest first; a full bar is 1.0."""
    positive = max(1.0, sum(v for v in breakdown.values() if v > 0))
    ordered = sorted(breakdown.items(), key=lambda kv: -abs(kv[1]))
    return [(name, value, max(0.0, value) / positive * 100) for name, value in ordered]


def _templates() -> Jinja2Templates:
    env = Environment(
        loader=PackageLoader("memory_core.ui", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(link=_link, format_pattern=format_pattern, task_types=list(TaskType))
    env.globals["outcomes"] = list(OutcomeFilter)
    env.filters.update(pct=_pct, num=_num, json=_json, bar_parts=_bar_parts, safe_svg=Markup)
    return Jinja2Templates(env=env)


# ---------------------------------------------------------------------- pages


def build_app(
    memory: SyncSelfLearningMemory,
    *,
    allow_writes: bool = False,
    token: str | None = None,
    allowed_hosts: Sequence[str] | None = None,
) -> Starlette:
    """Build the application (see `memory_core.ui.create_app`)."""
    state = UiState(memory, allow_writes=allow_writes)
    templates = _templates()

    def page(request: Request, name: str, status: int = 200, **context: Any) -> Response:
        namespace = context.pop("memory").namespace
        return templates.TemplateResponse(
            request,
            name,
            {
                "ns": namespace,
                "start_ns": state.start.namespace,
                "namespaces": state.namespaces(),
                "allow_writes": state.allow_writes,
                **context,
            },
            status_code=status,
        )

    def current(request: Request) -> SyncSelfLearningMemory:
        return state.memory(get_text(request.query_params, "ns", 200) or state.start.namespace)

    def overview(request: Request) -> Response:
        mem = current(request)
        return page(request, "overview.html", memory=mem, data=state.overview(mem))

    def episodes(request: Request) -> Response:
        mem = current(request)
        q = request.query_params
        outcome = get_enum(q, "outcome", OutcomeFilter)
        filters: dict[str, Any] = {
            "domain": get_text(q, "domain", 200),
            "task_type": get_enum(q, "task_type", TaskType),
            "outcome_kind": None if outcome in (None, OutcomeFilter.IN_FLIGHT) else str(outcome),
            "completed": False if outcome is OutcomeFilter.IN_FLIGHT else None,
            "since": get_date(q, "since"),
            "until": get_date(q, "until"),
            "min_reward": get_float(q, "min_reward"),
        }
        size = get_int(q, "per_page", PAGE_SIZE, 1, 200)
        number = get_int(q, "page", 1, 1, 10_000_000)
        found = mem.list_episodes(**filters, limit=size, offset=(number - 1) * size)
        total = state.store.count_matching_episodes(mem.namespace, EpisodeQuery(**filters))
        shown = {k: q.get(k, "") for k in ("domain", "task_type", "outcome", "since", "until")}
        shown["min_reward"] = q.get("min_reward", "")
        return page(
            request,
            "episodes.html",
            memory=mem,
            episodes=found,
            total=total,
            page=number,
            pages=max(1, -(-total // size)),
            per_page=size,
            filters=shown,
            domains=state.domains(mem.namespace),
            deleted=get_text(q, "deleted", 100),
        )

    def _episode(request: Request) -> tuple[SyncSelfLearningMemory, Episode]:
        mem = current(request)
        raw = request.path_params["episode_id"]
        key = get_uuid(raw)
        if key is None:
            raise HTTPException(404, f"{raw!r} is not an episode id")
        return mem, mem.get_episode(key)

    def episode(request: Request) -> Response:
        mem, found = _episode(request)
        patterns: list[Pattern] = []
        if found.pattern_ids:
            patterns = mem.engine.store.get_patterns(mem.namespace, found.pattern_ids)
            patterns.sort(key=lambda p: (p.kind, str(p.pattern_id)))
        return page(request, "episode.html", memory=mem, episode=found, patterns=patterns)

    def delete_episode(request: Request) -> Response:
        if not state.allow_writes:
            raise HTTPException(
                403, "this UI is read-only; start it with --allow-writes to delete episodes"
            )
        mem, found = _episode(request)
        return page(request, "confirm_delete.html", memory=mem, episode=found, csrf=state.csrf)

    async def delete_episode_post(request: Request) -> Response:
        if not state.allow_writes:
            raise HTTPException(
                403, "this UI is read-only; start it with --allow-writes to delete episodes"
            )
        form = await request.form()
        given = form.get("csrf")
        if not isinstance(given, str) or not hmac.compare_digest(given, state.csrf):
            raise HTTPException(403, "the confirmation form expired; open the delete page again")
        mem, found = await run_in_threadpool(_episode, request)
        await run_in_threadpool(mem.delete_episode, found.episode_id)
        state.forget_overview(mem.namespace)
        query = {"deleted": str(found.episode_id)}
        if mem.namespace != state.start.namespace:
            query["ns"] = mem.namespace
        return RedirectResponse("/episodes?" + urlencode(query), status_code=303)

    def search(request: Request) -> Response:
        mem = current(request)
        q = request.query_params
        task = get_text(q, "q", 10_000)
        domain = get_text(q, "domain", 200)
        language = get_text(q, "language", 100)
        framework = get_text(q, "framework", 100)
        task_type = get_enum(q, "task_type", TaskType)
        limit = get_int(q, "limit", 5, 1, 100)
        pattern_limit = get_int(q, "patterns", 5, 0, 100)
        raw_tags = get_text(q, "tags", 2_000) or ""
        try:
            tags = normalize_tags([t for t in raw_tags.split(",") if t.strip()])
        except ValueError as exc:
            raise InvalidInputError(f"tags: {exc}") from None
        context: dict[str, Any] = {"tags": tags}
        for key, value in (("domain", domain), ("language", language), ("framework", framework)):
            if value:
                context[key] = value
        asked = bool(task or domain or tags or language or framework)
        found: list[RetrievedEpisode] = []
        left_out: list[RetrievedEpisode] = []
        if asked:  # the agent's call, then the same ranking with the floor lifted
            found = mem.search_episodes(task or "", context, limit, task_type=task_type)
            given = {r.episode.episode_id for r in found}
            # the best-ranked episodes the floor kept out: look past the ones above it
            lifted = mem.search_episodes(
                task or "",
                context,
                min(1_000, limit + _LEFT_OUT_LOOKAHEAD),
                task_type=task_type,
                include_below_floor=True,
            )
            left_out = [r for r in lifted if r.below_floor and r.episode.episode_id not in given][
                :limit
            ]
        ranked = (
            mem.search_patterns(context, pattern_limit, task_description=task)
            if asked and pattern_limit
            else []
        )
        form = {
            "q": task or "",
            "domain": domain or "",
            "tags": ", ".join(tags),
            "language": language or "",
            "framework": framework or "",
            "task_type": q.get("task_type", ""),
            "limit": limit,
            "patterns": pattern_limit,
        }
        return page(
            request,
            "search.html",
            memory=mem,
            asked=asked,
            form=form,
            results=found,
            left_out=left_out,
            patterns=ranked,
            floor=mem.config.retrieval.min_relevance,
        )

    def patterns(request: Request) -> Response:
        mem = current(request)
        q = request.query_params
        kind = get_text(q, "kind", 40)
        kinds = ("tool_sequence", "decision_point", "error_recovery", "context_pattern")
        if kind is not None and kind not in kinds:
            raise InvalidInputError(f"kind={kind!r} is not one of: {', '.join(kinds)}")
        domain = get_text(q, "domain", 200)
        limit = get_int(q, "limit", 50, 1, 1000)
        found = mem.list_patterns(kind=cast(PatternKind | None, kind), domain=domain, limit=limit)
        return page(
            request,
            "patterns.html",
            memory=mem,
            patterns=found,
            kinds=kinds,
            filters={"kind": kind or "", "domain": domain or ""},
            limit=limit,
        )

    def pattern(request: Request) -> Response:
        mem = current(request)
        raw = request.path_params["pattern_id"]
        key = get_uuid(raw)
        if key is None:
            raise HTTPException(404, f"{raw!r} is not a pattern id")
        found = mem.get_pattern(key)
        evidence = mem.engine.store.get_episodes(mem.namespace, found.evidence)
        evidence.sort(key=lambda e: (e.start_time, str(e.episode_id)), reverse=True)
        return page(
            request,
            "pattern.html",
            memory=mem,
            pattern=found,
            evidence=evidence,
            evidence_missing=len(found.evidence) - len(evidence),
            linked=state.store.count_pattern_links(mem.namespace, key),
        )

    def error_page(request: Request, status: int, message: str) -> Response:
        try:
            mem = current(request)
        except (MemoryCoreError, HTTPException):
            mem = state.start
        return page(
            request, "error.html", status=status, memory=mem, status_code=status, message=message
        )

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return await run_in_threadpool(error_page, request, exc.status_code, exc.detail)

    async def on_memory_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, EpisodeNotFoundError | PatternNotFoundError):
            status = 404
        elif isinstance(exc, InvalidInputError):
            status = 400
        else:
            status = 500
        return await run_in_threadpool(error_page, request, status, str(exc))

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        threading.Thread(target=state.warm, name="memory-core-ui-warm", daemon=True).start()
        try:
            yield
        finally:
            state.close()

    middleware = [Middleware(SecurityHeaders)]
    if allowed_hosts:
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)))
    if token:
        middleware.append(Middleware(TokenGate, token=token))
    app = Starlette(
        routes=[
            Route("/", overview, name="overview"),
            Route("/episodes", episodes, name="episodes"),
            Route("/episodes/{episode_id}", episode, name="episode"),
            Route("/episodes/{episode_id}/delete", delete_episode, methods=["GET"]),
            Route("/episodes/{episode_id}/delete", delete_episode_post, methods=["POST"]),
            Route("/search", search, name="search"),
            Route("/patterns", patterns, name="patterns"),
            Route("/patterns/{pattern_id}", pattern, name="pattern"),
            Mount("/static", StaticFiles(packages=[("memory_core.ui", "static")]), name="static"),
        ],
        middleware=middleware,
        exception_handlers={HTTPException: on_http_error, MemoryCoreError: on_memory_error},
        lifespan=lifespan,
    )
    app.state.ui = state
    return app


# ----------------------------------------------------------------- middleware


class SecurityHeaders:
    """Adds a strict Content-Security-Policy and friends to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class TokenGate:
    """Lets a request through only with the access token.

    The token comes as ``Authorization: Bearer T``, as the cookie set by a first visit with
    ``?token=T`` (which redirects to the same URL without it), or not at all: 401.
    """

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token.encode()

    def _valid(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        in_query = request.query_params.get("token")
        if in_query is not None and self._valid(in_query):
            url = URL(scope=scope)
            kept = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            target = url.path + ("?" + urlencode(kept) if kept else "")
            response: Response = RedirectResponse(target, status_code=303)
            response.set_cookie(TOKEN_COOKIE, in_query, httponly=True, samesite="strict", path="/")
            await response(scope, receive, send)
            return
        header = request.headers.get("authorization", "")
        bearer = header[7:].strip() if header.lower().startswith("bearer ") else None
        if self._valid(bearer) or self._valid(request.cookies.get(TOKEN_COOKIE)):
            await self.app(scope, receive, send)
            return
        response = PlainTextResponse(
            "401 Unauthorized: this memory-core UI needs its access token; open the URL "
            "printed by `memory-core ui` (…?token=…) or send `Authorization: Bearer <token>`.",
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
        await response(scope, receive, send)
