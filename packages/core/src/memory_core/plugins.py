"""Plugin management: building a memory's plugin manager and calling hooks safely.

Each memory owns its `pluggy.PluginManager` (no import-time global state). The built-in
store, reward scorer, re-ranker and pattern extractors are themselves plugins registered
through the same hooks (`memory_core.builtin_plugins`), so the hook API is exercised on
every run. Installed plugins are discovered through the ``memory_core`` entry-point group;
one broken plugin is reported and skipped instead of aborting the load.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

import pluggy

from memory_core import hookspecs
from memory_core.errors import ConfigurationError, PluginError

if TYPE_CHECKING:
    from memory_core.config import MemoryConfig
    from memory_core.embeddings import Embedder
    from memory_core.learning import PatternExtractor
    from memory_core.models import Episode, RetrievedEpisode, RewardScore, TaskContext
    from memory_core.storage import EpisodeStore

__all__ = ["ENTRY_POINT_GROUP", "PluginHost", "load_entrypoint_plugins", "make_plugin_manager"]

logger = logging.getLogger("memory_core.plugins")

ENTRY_POINT_GROUP = hookspecs.PROJECT_NAME
"""Entry-point group scanned for plugins."""

_OFF = {"0", "false", "no", "off"}


def load_entrypoint_plugins(pm: pluggy.PluginManager) -> list[str]:
    """Register every plugin of the ``memory_core`` entry-point group not yet registered.

    A plugin that fails to import is logged (with its name) and skipped, so one broken
    package cannot disable the others. Returns the names of the failed plugins.
    """
    failed: list[str] = []
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if pm.get_plugin(entry_point.name) is not None or pm.is_blocked(entry_point.name):
            continue
        try:
            plugin = entry_point.load()
            pm.register(plugin, name=entry_point.name)
        except Exception:
            logger.exception(
                "memory-core plugin %r (%s) failed to load and was skipped",
                entry_point.name,
                entry_point.value,
            )
            failed.append(entry_point.name)
    return failed


def _plugin_name(pm: pluggy.PluginManager, plugin: object) -> str:
    """A readable, unique name for an inline plugin (module name or class name)."""
    base = getattr(plugin, "__name__", None) or type(plugin).__qualname__
    name, suffix = base, 2
    while pm.has_plugin(name):
        name, suffix = f"{base}-{suffix}", suffix + 1
    return name


def make_plugin_manager(
    *, load_entrypoints: bool = True, plugins: Iterable[object] = ()
) -> pluggy.PluginManager:
    """Build a plugin manager with the hook specs, the built-ins and the given plugins.

    Args:
        load_entrypoints: Also load installed plugins from the ``memory_core`` entry-point
            group (skipped when ``MEMORY_CORE_LOAD_PLUGINS`` is ``0``/``false``).
        plugins: Extra plugin objects to register (modules, classes or instances).

    Raises:
        PluginError: If a plugin implements a hook that does not exist (a typo), naming it.
    """
    from memory_core import builtin_plugins

    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    pm.register(builtin_plugins, name="memory_core.builtins")
    for plugin in plugins:
        pm.register(plugin, name=_plugin_name(pm, plugin))
    if load_entrypoints and os.environ.get("MEMORY_CORE_LOAD_PLUGINS", "1").lower() not in _OFF:
        load_entrypoint_plugins(pm)
    check_hooks(pm)
    return pm


def check_hooks(pm: pluggy.PluginManager) -> None:
    """Fail loudly when a registered plugin implements an unknown hook (e.g. a misspelling).

    Raises:
        PluginError: Naming the plugin and the unknown hook.
    """
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        name = pm.get_name(exc.plugin) or repr(exc.plugin)
        raise PluginError(
            f"plugin {name!r}: {exc}; check the hook name against memory_core.hookspecs"
        ) from exc


def _blame(exc: BaseException, impls: Sequence[pluggy.HookImpl]) -> str:
    """Name the plugin whose hook implementation appears in the exception's traceback."""
    codes = {impl.function.__code__: impl.plugin_name for impl in impls}
    culprit = "unknown plugin"
    tb: TracebackType | None = exc.__traceback__
    while tb is not None:
        culprit = codes.get(tb.tb_frame.f_code, culprit)
        tb = tb.tb_next
    return culprit


class PluginHost:
    """Calls a plugin manager's hooks the way memory-core needs them.

    Observers and contributors are called one plugin at a time, so a failing plugin is
    logged with its name and counted (``errors``) without stopping the others or the
    memory. Hooks whose failure must surface (the reward) raise `PluginError` naming the
    plugin.
    """

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self._lock = threading.Lock()
        self.errors: dict[str, int] = {}

    @property
    def error_count(self) -> int:
        """Total number of isolated plugin failures so far."""
        with self._lock:
            return sum(self.errors.values())

    def _count(self, plugin: str, hook: str) -> None:
        logger.exception("memory-core plugin %r failed in hook %s", plugin, hook)
        with self._lock:
            self.errors[plugin] = self.errors.get(plugin, 0) + 1

    def _each(self, hook_name: str, kwargs: Mapping[str, Any]) -> list[tuple[str, Any]]:
        """Call every implementation of a hook separately; failures are isolated."""
        caller: pluggy.HookCaller = getattr(self.pm.hook, hook_name)
        results: list[tuple[str, Any]] = []
        for impl in reversed(caller.get_hookimpls()):
            try:
                value = impl.function(*(kwargs[name] for name in impl.argnames))
            except Exception:
                self._count(impl.plugin_name, hook_name)
                continue
            results.append((impl.plugin_name, value))
        return results

    def has(self, hook_name: str) -> bool:
        """True when any plugin implements the hook (cheap; used on hot paths)."""
        caller: pluggy.HookCaller = getattr(self.pm.hook, hook_name)
        return bool(caller.get_hookimpls())

    # ------------------------------------------------------------ registries

    def extractors(self) -> list[PatternExtractor]:
        """Every registered pattern extractor (built-ins first)."""
        found: list[PatternExtractor] = []
        self._each("register_pattern_extractors", {"register": found.append})
        return found

    def embedder(self, name: str) -> Embedder:
        """Instantiate the embedder registered under ``name``.

        Raises:
            ConfigurationError: If no plugin registered that name.
        """
        factories: dict[str, Callable[[], Embedder]] = {}
        self._each("register_embedders", {"register": factories.__setitem__})
        if name not in factories:
            known = ", ".join(sorted(factories)) or "none"
            raise ConfigurationError(
                f"no embedder named {name!r} is registered (known: {known}); install the "
                "plugin that provides it or pass embedder= to the memory"
            )
        return factories[name]()

    # ------------------------------------------------------- selection/wraps

    def make_store(self, url: str, config: MemoryConfig) -> EpisodeStore:
        """The store for ``url`` from the first plugin that accepts it.

        Raises:
            ConfigurationError: If no plugin handles the URL's scheme.
        """
        store: EpisodeStore | None = self.pm.hook.make_episode_store(url=url, config=config)
        if store is None:
            scheme = url.split(":", 1)[0]
            raise ConfigurationError(
                f"no store handles database URLs of scheme {scheme!r}; use sqlite:/// or "
                "postgresql://, or install the plugin that provides this scheme"
            )
        return store

    def compute_reward(self, episode: Episode, config: MemoryConfig) -> RewardScore:
        """The reward from the (possibly wrapped) scorer.

        Raises:
            PluginError: If a plugin's implementation raises, naming the plugin.
        """
        caller = self.pm.hook.compute_reward
        try:
            reward: RewardScore | None = caller(episode=episode, config=config)
        except Exception as exc:
            plugin = _blame(exc, caller.get_hookimpls())
            raise PluginError(
                f"plugin {plugin!r} failed while computing the reward: {exc!r}; "
                "the episode was not completed"
            ) from exc
        if reward is None:
            raise PluginError("no plugin computed a reward (the built-in scorer was removed?)")
        return reward

    def rerank(
        self, task_description: str, context: TaskContext, results: list[RetrievedEpisode]
    ) -> list[RetrievedEpisode]:
        """Results after every re-ranking plugin; a failing re-ranker is skipped and counted."""
        caller = self.pm.hook.rerank_episodes
        if len(caller.get_hookimpls()) <= 1:
            return results
        try:
            ranked: list[RetrievedEpisode] | None = caller(
                task_description=task_description, context=context, results=results
            )
        except Exception as exc:
            self._count(_blame(exc, caller.get_hookimpls()), "rerank_episodes")
            return results
        return results if ranked is None else list(ranked)

    # ------------------------------------------------- contribution/observe

    def reflection_items(self, episode: Episode) -> dict[str, list[str]]:
        """Extra reflection sentences from plugins, by category."""
        extra: dict[str, list[str]] = {"successes": [], "improvements": [], "insights": []}
        for plugin, value in self._each("reflection_items", {"episode": episode}):
            if not value:
                continue
            for key, sentences in value.items():
                if key not in extra:
                    logger.warning("plugin %r returned unknown reflection key %r", plugin, key)
                    continue
                extra[key].extend(str(s) for s in sentences)
        return extra

    def notify(self, hook_name: str, **kwargs: Any) -> None:
        """Call an observer hook on every plugin; failures are logged and counted."""
        self._each(hook_name, kwargs)
