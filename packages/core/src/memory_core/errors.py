"""Exceptions raised by memory-core.

Every error the library raises on purpose derives from :class:`MemoryCoreError`, so
``except MemoryCoreError`` catches all of them. The tree::

    MemoryCoreError
    ├── ConfigurationError
    ├── InvalidInputError
    │   ├── PayloadTooLargeError
    │   └── StepOrderError
    ├── EpisodeNotFoundError
    ├── EpisodeAlreadyCompletedError
    ├── EpisodeQualityError
    ├── PatternNotFoundError
    ├── StorageError
    ├── LearningQueueError
    │   └── LearningQueueFullError
    ├── PluginError
    └── MissingDependencyError (also an ImportError)

Messages say what went wrong *and* what to do about it.
"""

from __future__ import annotations

from uuid import UUID

__all__ = [
    "ChangeFeedTrimmedError",
    "ConfigurationError",
    "EpisodeAlreadyCompletedError",
    "EpisodeNotFoundError",
    "EpisodeQualityError",
    "InvalidInputError",
    "LearningQueueError",
    "LearningQueueFullError",
    "MemoryCoreError",
    "MissingDependencyError",
    "PatternNotFoundError",
    "PayloadTooLargeError",
    "PluginError",
    "StepOrderError",
    "StorageError",
]


class MemoryCoreError(Exception):
    """Base class of every error raised by memory-core."""


class ConfigurationError(MemoryCoreError):
    """Raised when the configuration cannot be used.

    Examples: a malformed or out-of-range ``MEMORY_CORE_*`` variable (from
    `MemoryConfig.from_env`), a database URL no store handles, an unknown embedder name.
    Building `MemoryConfig(...)` directly with an invalid value raises pydantic's
    ``ValidationError`` (a ``ValueError``) at once, like any pydantic model.
    """


class InvalidInputError(MemoryCoreError, ValueError):
    """Raised when an argument fails validation at the public boundary.

    Nothing is stored when this is raised. It is also a :class:`ValueError`, so code that
    already guards against bad values keeps working.
    """


class PayloadTooLargeError(InvalidInputError):
    """Raised when a description, step, parameter set or whole episode exceeds its size limit.

    The limits are fields of `MemoryConfig` (``max_description_bytes``, ``max_step_output_bytes``,
    ``max_parameters_bytes``, ``max_steps_per_episode``, ``max_episode_bytes``).
    """


class StepOrderError(InvalidInputError):
    """Raised when an explicit ``step_number`` is below 1 or not above the previous step's."""


class EpisodeNotFoundError(MemoryCoreError, LookupError):
    """Raised when an episode id does not exist in the memory's namespace."""

    def __init__(self, episode_id: UUID | str, namespace: str) -> None:
        self.episode_id = episode_id
        self.namespace = namespace
        super().__init__(
            f"episode {episode_id} does not exist in namespace {namespace!r}; "
            "check the id returned by start_episode() and the memory's namespace"
        )


class EpisodeAlreadyCompletedError(MemoryCoreError):
    """Raised when logging a step to, or completing, an episode that is already complete."""

    def __init__(self, episode_id: UUID | str) -> None:
        self.episode_id = episode_id
        super().__init__(
            f"episode {episode_id} is already completed; start a new episode with "
            "start_episode() to record another run"
        )


class EpisodeQualityError(MemoryCoreError):
    """Raised by ``complete_episode`` when the optional quality gate rejects an episode.

    Only with ``MemoryConfig.learning.quality_threshold`` set (the gate is off by default).
    Nothing is stored and the episode stays in progress; ``quality`` and ``threshold`` hold
    the score and the threshold it missed.
    """

    def __init__(self, message: str, *, quality: float, threshold: float) -> None:
        self.quality = quality
        self.threshold = threshold
        super().__init__(message)


class PatternNotFoundError(MemoryCoreError, LookupError):
    """Raised when a pattern id does not exist in the memory's namespace."""

    def __init__(self, pattern_id: UUID | str, namespace: str) -> None:
        self.pattern_id = pattern_id
        self.namespace = namespace
        super().__init__(f"pattern {pattern_id} does not exist in namespace {namespace!r}")


class StorageError(MemoryCoreError):
    """Raised when the database fails (unreachable, locked too long, corrupt, schema too new).

    The original driver exception is chained as ``__cause__``. Operations that raise this
    leave stored data as it was before the call.
    """


class ChangeFeedTrimmedError(StorageError):
    """Raised by ``changes_since`` when entries above the asked position were trimmed.

    Stores trim old episode deletions from a namespace's change feed so that it does not
    grow with every episode ever pruned. A follower positioned before the trimmed part
    cannot be brought up to date from the feed: it rebuilds its view from the stored
    episodes instead (the retrieval engine does this by itself).

    Attributes:
        namespace: The namespace whose feed was read.
        seq: The position the follower asked from.
        horizon: The highest trimmed sequence number: positions below it are too old.
    """

    def __init__(self, namespace: str, seq: int, horizon: int) -> None:
        self.namespace = namespace
        self.seq = seq
        self.horizon = horizon
        super().__init__(
            f"the change feed of namespace {namespace!r} was trimmed up to {horizon}; "
            f"position {seq} is too old: rebuild from the stored episodes"
        )


class LearningQueueError(MemoryCoreError):
    """Raised when the background learning queue cannot accept or finish work."""


class LearningQueueFullError(LearningQueueError):
    """Raised by ``complete_episode`` when the queue is full under the ``reject`` policy.

    It is raised *before* the episode is stored, so the call can simply be retried.
    """


class PluginError(MemoryCoreError):
    """Raised when a plugin fails to load or one of its hooks raises; names the plugin."""


class MissingDependencyError(MemoryCoreError, ImportError):
    """Raised when an optional dependency is missing; the message names the package to install."""
