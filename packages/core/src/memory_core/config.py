"""Configuration: one `MemoryConfig` model with documented defaults.

Every field can also be set from the environment with ``MEMORY_CORE_<FIELD>``; fields of a
nested section use a double underscore, e.g. ``MEMORY_CORE_LEARNING__WORKERS=4`` or
``MEMORY_CORE_RETRIEVAL__RECENCY_HALF_LIFE_DAYS=14``. Read them with
:meth:`MemoryConfig.from_env`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from memory_core.errors import ConfigurationError

__all__ = [
    "ENV_PREFIX",
    "LearningConfig",
    "LimitsConfig",
    "MemoryConfig",
    "RetentionConfig",
    "RetrievalConfig",
    "RewardConfig",
    "default_database_url",
]

ENV_PREFIX = "MEMORY_CORE_"

_Section = ConfigDict(extra="forbid", validate_assignment=True, use_attribute_docstrings=True)


def default_database_url() -> str:
    """The embedded default: a SQLite file in the user's data directory.

    ``$MEMORY_CORE_HOME`` overrides the directory.
    """
    home = os.environ.get("MEMORY_CORE_HOME")
    if home:
        base = Path(home)
    else:
        from platformdirs import user_data_dir

        base = Path(user_data_dir("memory-core", appauthor=False))
    return f"sqlite:///{base / 'memory.db'}"


_NOT_SETTINGS = ("MEMORY_CORE_HOME",)


def _not_a_setting(key: str) -> bool:
    """Variables with the prefix that are read elsewhere (data dir, test configuration)."""
    return key in _NOT_SETTINGS or key.startswith("MEMORY_CORE_TEST_")


class LimitsConfig(BaseModel):
    """Size limits checked at the boundary; exceeding one raises `PayloadTooLargeError`."""

    model_config = _Section

    max_description_bytes: int = Field(default=10_000, gt=0)
    """Task description size (UTF-8 bytes)."""
    max_steps_per_episode: int = Field(default=1_000, gt=0)
    """Steps one episode may hold."""
    max_step_output_bytes: int = Field(default=10_000, gt=0)
    """A step's output or error message."""
    max_parameters_bytes: int = Field(default=1_000_000, gt=0)
    """A step's parameters, serialised as JSON."""
    max_episode_bytes: int = Field(default=10_000_000, gt=0)
    """The whole episode serialised as JSON, checked at completion."""


class RewardConfig(BaseModel):
    """Knobs of the default reward scorer (reference values by default)."""

    model_config = _Section

    duration_reference_seconds: float = Field(default=60.0, gt=0)
    """Duration at which the duration sub-score has decayed to exp(-1/2)."""
    step_reference_count: float = Field(default=10.0, gt=0)
    """Step count at which the step sub-score has decayed to exp(-1/2)."""
    duration_weight: float = Field(default=0.5, ge=0)
    """Weight of the duration sub-score in efficiency."""
    step_weight: float = Field(default=0.5, ge=0)
    """Weight of the step-count sub-score in efficiency."""
    simple_bonus: float = Field(default=1.0, gt=0)
    """Complexity multiplier of a simple task."""
    moderate_bonus: float = Field(default=1.1, gt=0)
    """Complexity multiplier of a moderate task."""
    complex_bonus: float = Field(default=1.2, gt=0)
    """Complexity multiplier of a complex task."""
    learning_bonus_cap: float = Field(default=0.5, ge=0)
    """Largest learning bonus an episode can earn."""


class LearningConfig(BaseModel):
    """How completed episodes are learned from."""

    model_config = _Section

    mode: Literal["background", "inline", "external", "process"] = "background"
    """Where completed episodes are learned. ``background``: on this memory's worker pool.
    ``inline``: inside ``complete_episode``, before it returns. ``external``: never in this
    process; episodes are stored marked unlearned for ``memory-core learn [--follow]`` (or
    ``learn_pending()``) in any process to learn. ``process``: as ``external``, in a learner
    process the memory starts when it opens and stops when it closes, so learning never
    holds this process's interpreter lock (needs a SQLite file or PostgreSQL)."""
    background: bool = True
    """Deprecated alias kept working: False means ``mode="inline"`` when ``mode`` is left at
    ``background``. Read `effective_mode` for the mode in force."""
    batch_size: int = Field(default=64, ge=1, le=10_000)
    """Most episodes learned in one database transaction (by the workers and by
    ``learn_pending``); a batch holds the namespace's write lock while it merges."""
    workers: int = Field(default=2, ge=1, le=64)
    """Worker threads of the learning queue."""
    queue_size: int = Field(default=1_000, ge=1)
    """Episodes that may wait for extraction before backpressure applies."""
    backpressure: Literal["inline", "block", "reject"] = "inline"
    """What ``complete_episode`` does when the queue is full."""
    block_timeout_seconds: float = Field(default=5.0, gt=0)
    """How long the ``block`` policy waits for room before raising."""
    extraction_threshold: float = Field(default=0.7, ge=0, le=1)
    """Minimum step success rate for success patterns (tool sequences, decisions)."""
    error_recovery_threshold: float = Field(default=0.3, ge=0, le=1)
    """Minimum step success rate for error-recovery patterns."""
    max_sequence_length: int = Field(default=5, ge=1)
    """Longest tool sequence kept as a pattern."""
    merge_threshold: float = Field(default=0.85, ge=0, le=1)
    """Similarity at which a new pattern merges into a stored near-duplicate."""
    quality_threshold: float | None = Field(default=None, ge=0, le=1)
    """Optional quality gate (computed after reflection and extraction). None: off."""
    close_timeout_seconds: float = Field(default=30.0, ge=0)
    """How long ``close()`` waits for queued learning work; episodes still pending then stay
    marked unlearned in the database and are re-queued when a memory next opens."""
    heuristic_min_samples: int = Field(default=2, ge=1)
    """Episodes a heuristic needs before it is returned for a context."""
    heuristic_min_confidence: float = Field(default=0.7, ge=0)
    """Confidence (``success_rate * sqrt(samples)``) a heuristic needs to be returned."""

    @property
    def effective_mode(self) -> Literal["background", "inline", "external", "process"]:
        """The learning mode in force (``mode``, with ``background=False`` meaning inline)."""
        if self.mode == "background" and not self.background:
            return "inline"
        return self.mode


class RetrievalConfig(BaseModel):
    """How past episodes and patterns are ranked for a new task.

    Episode score = ``lexical_weight``·lexical + ``semantic_weight``·semantic (only with an
    embedder) + ``context_weight``·context + ``reward_weight``·reward + ``recency_weight``·
    recency - ``diversity_weight``·(max similarity to a better result). See the README
    section "How retrieval ranks".
    """

    model_config = _Section

    lexical_weight: float = Field(default=0.5, ge=0)
    """Weight of BM25 relevance of the task description (normalised to 0-1)."""
    semantic_weight: float = Field(default=0.3, ge=0)
    """Weight of embedding cosine similarity; used only when an embedder is configured."""
    context_weight: float = Field(default=0.2, ge=0)
    """Weight of context similarity (domain, language, framework, complexity, tags)."""
    reward_weight: float = Field(default=0.15, ge=0)
    """Weight of the episode's reward (``reward.total / reward_scale``, capped at 1)."""
    recency_weight: float = Field(default=0.1, ge=0)
    """Weight of recency (``0.5 ** (age / recency_half_life_days)``)."""
    diversity_weight: float = Field(default=0.3, ge=0)
    """MMR penalty: subtracted times the result's highest similarity to a better result."""
    recency_half_life_days: float = Field(default=30.0, gt=0)
    """Age at which the recency component halves."""
    reward_scale: float = Field(default=2.0, gt=0)
    """Reward total that counts as a full reward component (1.0)."""
    min_relevance: float = Field(default=0.12, ge=0, le=1)
    """Relevance floor: episodes whose task relevance is lower are not returned (unless
    ``include_below_floor``), and do not vote on ``recommend_plan``. Calibrated with the
    learning-effect benchmark (``benchmarks/learning_effect.py``)."""
    context_relevance_share: float = Field(default=0.4, ge=0, le=1)
    """How much context scales text relevance: relevance = text · (1 - share + share ·
    context). With an empty description relevance is the context similarity."""
    domain_weight: float = Field(default=0.35, ge=0)
    """Share of the domain in context similarity (partial credit for shared domain words)."""
    language_weight: float = Field(default=0.2, ge=0)
    """Share of the language in context similarity."""
    framework_weight: float = Field(default=0.15, ge=0)
    """Share of the framework in context similarity."""
    complexity_weight: float = Field(default=0.1, ge=0)
    """Share of the complexity in context similarity (adjacent levels get half)."""
    tags_weight: float = Field(default=0.2, ge=0)
    """Share of the tags (Jaccard) in context similarity."""
    bm25_k1: float = Field(default=1.2, gt=0)
    """BM25 term-frequency saturation."""
    bm25_b: float = Field(default=0.75, ge=0, le=1)
    """BM25 length normalisation."""
    bm25_min_corpus: int = Field(default=50, ge=0)
    """Episode count the BM25 idf assumes at least, so a memory of a few episodes does not
    rate words they all share ("fix", "test") as worthless and drop near-identical tasks
    below the relevance floor. No effect once the memory holds more episodes."""
    context_term_weight: float = Field(default=2.0, ge=0)
    """Weight of each context term (domain, language, framework, each tag) in the lexical
    match, as a field of its own (BM25F): rare tags shared with the query are strong
    evidence, common ones weak. 0 leaves context out of the lexical match."""
    description_boost: float = Field(default=2.0, gt=0)
    """How many times a description word counts compared with tool, action or reflection
    words."""
    plan_candidates: int = Field(default=10, ge=1, le=1_000)
    """Relevant episodes that vote on ``recommend_plan``'s answer."""
    mmr_pool: int = Field(default=30, ge=1)
    """Best-scored candidates considered by diversity re-ranking (at least 3 x limit)."""
    pattern_success_weight: float = Field(default=0.3, ge=0)
    """Pattern ranking: weight of the pattern's success rate."""
    pattern_confidence_weight: float = Field(default=0.15, ge=0)
    """Pattern ranking: weight of sample-size confidence ``n / (n + pattern_confidence_k)``."""
    pattern_confidence_k: float = Field(default=5.0, gt=0)
    """Sample size at which pattern confidence reaches one half."""
    pattern_context_weight: float = Field(default=0.25, ge=0)
    """Pattern ranking: weight of context similarity."""
    pattern_effectiveness_weight: float = Field(default=0.15, ge=0)
    """Pattern ranking: weight of effectiveness when applied (``effectiveness_score / 2``)."""
    pattern_recency_weight: float = Field(default=0.05, ge=0)
    """Pattern ranking: weight of recency of update or last use."""
    pattern_text_weight: float = Field(default=0.2, ge=0)
    """Pattern ranking: weight of BM25 match with the task description (when given)."""
    record_retrievals: bool = True
    """Count pattern retrievals in ``PatternEffectiveness.times_retrieved`` (batched)."""
    retrieval_flush_seconds: float = Field(default=2.0, gt=0)
    """Longest delay before counted pattern retrievals are written to the store."""
    episode_cache_size: int = Field(default=10_000, ge=0)
    """Completed episodes kept in memory (as JSON, a few KB each) to answer searches
    without reading the store."""
    refresh_interval_seconds: float = Field(default=1.0, ge=0)
    """Longest delay before episodes completed by other processes become retrievable."""
    backend: Literal["memory", "database", "auto"] = "auto"
    """Where episode search runs. ``memory``: an in-memory index of the namespace in every
    process, built on its first search and fed by the change feed. ``database``: candidates
    from the database search index (PostgreSQL only), ranked in-process the same way; no
    per-namespace index, and other processes' episodes are searchable once committed.
    ``auto``: ``database`` on PostgreSQL for namespaces of at least
    ``database_min_episodes`` episodes (checked on the first search), else ``memory``; always
    ``memory`` with an embedder."""
    database_min_episodes: int = Field(default=100_000, ge=0)
    """Namespace size from which ``auto`` searches in the database."""
    database_candidates: int = Field(default=100, ge=1, le=10_000)
    """Candidates the database returns to be ranked in-process (at least ``mmr_pool``)."""
    database_scan_limit: int = Field(default=2_000, ge=100)
    """Most postings one database search reads (split among its candidate terms, best
    first), or, with filters or non-default BM25 knobs, most matching episodes it scores
    (queries of common words only then ask candidates to share several of them); see
    `memory_core.retrieval.database`."""
    memory_budget_mb: float = Field(default=1_024.0, ge=0)
    """Bytes of in-memory episode indexes one process keeps across all its memories
    (namespaces); past it, the least recently searched indexes are dropped (rebuilt when
    searched again). 0: no limit."""


class RetentionConfig(BaseModel):
    """How long completed episodes are kept (per namespace); everything is kept by default.

    When a cap is set, pruning deletes the least valuable completed, learned episodes
    first (in-flight and not yet learned episodes are never deleted). An episode's value is

    ``reward_weight`` · min(max(reward / ``reward_scale``, 0), 1)
    + ``recency_weight`` · 0.5 ** (age in days / ``recency_half_life_days``)
    + ``retrieval_weight`` · retrievals / (retrievals + ``retrieval_k``)
    + ``evidence_weight`` · (1 if it is some pattern's only linked episode, else 0)

    (ties: the older goes first). See the README section "Data lifecycle".
    """

    model_config = _Section

    max_episodes: int | None = Field(default=None, ge=0)
    """Most completed episodes kept per namespace (None: no cap)."""
    max_age_days: float | None = Field(default=None, gt=0)
    """Completed episodes older than this (by completion time) are deleted (None: never)."""
    drop_orphan_patterns: bool = False
    """Delete patterns and heuristics whose last linked episode is deleted (by pruning or
    ``delete_episode``). False: they stay, with their learned counts."""
    reward_weight: float = Field(default=1.0, ge=0)
    """Value of a full reward (see the formula above)."""
    reward_scale: float = Field(default=2.0, gt=0)
    """Reward total that counts as a full reward."""
    recency_weight: float = Field(default=0.5, ge=0)
    """Value of a brand-new episode, halving every ``recency_half_life_days``."""
    recency_half_life_days: float = Field(default=30.0, gt=0)
    """Age at which the recency value halves."""
    retrieval_weight: float = Field(default=1.0, ge=0)
    """Value approached by an episode retrieval keeps returning."""
    retrieval_k: float = Field(default=3.0, gt=0)
    """Retrievals at which an episode earns half of ``retrieval_weight``."""
    evidence_weight: float = Field(default=2.0, ge=0)
    """Value of being some pattern's only linked episode."""
    auto_prune: bool = True
    """Prune in the background when a cap is set (else only ``prune()`` and the CLI do)."""
    prune_interval_seconds: float = Field(default=5.0, gt=0)
    """Longest time between background prunes (learning also wakes the pruner)."""
    prune_max_seconds: float = Field(default=0.5, gt=0)
    """Time budget of one background prune; a run that used it all continues shortly."""
    prune_chunk_size: int = Field(default=200, ge=1, le=10_000)
    """Episodes deleted per transaction (each chunk commits on its own)."""

    @property
    def enabled(self) -> bool:
        """True when a cap or an age limit is set."""
        return self.max_episodes is not None or self.max_age_days is not None


class MemoryConfig(BaseModel):
    """Everything configurable about a memory; every field has a working default.

    By default every well-formed episode is stored and learned from (no quality gate),
    in a SQLite file in the user's data directory.
    """

    model_config = _Section

    database_url: str | None = None
    """SQLAlchemy URL. None: a SQLite file in the user's data directory (see
    `default_database_url`); ``sqlite:///:memory:`` for throwaway use;
    ``postgresql://user:pw@host/db`` for many processes on many machines."""
    cache_max_episodes: int = Field(default=1_000, ge=0)
    """Completed episodes kept in the in-process LRU/TTL cache (0 disables it)."""
    cache_max_patterns: int = Field(default=5_000, ge=0)
    """Patterns kept in the in-process cache (0 disables it)."""
    cache_ttl_seconds: float = Field(default=30.0, gt=0)
    """Longest time a cached item is served without re-reading the database."""
    flush_interval_ms: float = Field(default=100.0, gt=0, le=60_000)
    """Longest time a new episode or logged step waits in memory before it is durable."""
    flush_max_pending: int = Field(default=1_000, ge=1)
    """Pending writes that trigger an immediate flush."""
    load_plugins: bool = True
    """Load plugins from the ``memory_core`` entry-point group when a memory is created
    (``MEMORY_CORE_LOAD_PLUGINS=0`` also turns this off)."""
    embedder: str | None = None
    """Name of a plugin-registered embedder to use for semantic similarity (None: none)."""
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    reward: RewardConfig = Field(default_factory=RewardConfig)
    learning: LearningConfig = Field(default_factory=LearningConfig)
    retrieval: RetrievalConfig = Field(default_factory=RetrievalConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    """Episode caps, age limits and pruning per namespace (off by default)."""

    @property
    def resolved_database_url(self) -> str:
        """The database URL that will be used (the default when ``database_url`` is None)."""
        return self.database_url or default_database_url()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> MemoryConfig:
        """Build a config from ``MEMORY_CORE_*`` variables (keyword overrides win).

        Args:
            environ: Mapping to read instead of ``os.environ``.
            **overrides: Field values that take precedence over the environment.

        Raises:
            ConfigurationError: If a variable names no field or holds an invalid value.
        """
        env = os.environ if environ is None else environ
        data: dict[str, Any] = {}
        for key, value in sorted(env.items()):
            if not key.startswith(ENV_PREFIX) or _not_a_setting(key):
                continue
            if value == "":  # an empty variable counts as unset
                continue
            path = key[len(ENV_PREFIX) :].lower().split("__")
            target = data
            for part in path[:-1]:
                section = target.setdefault(part, {})
                if not isinstance(section, dict):
                    raise ConfigurationError(
                        f"{key} sets a field of {ENV_PREFIX}{part.upper()}, which is also set "
                        "as a single value; remove one of the two variables"
                    )
                target = section
            if isinstance(target.get(path[-1]), dict):
                raise ConfigurationError(
                    f"{key} sets a whole section that other {key}__* variables also set; "
                    "set its fields one by one instead"
                )
            target[path[-1]] = value
        for key, value in overrides.items():
            if isinstance(value, Mapping) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{ENV_PREFIX}{'__'.join(str(p) for p in err['loc']).upper()}: "
                + (
                    "names no setting (check the spelling against MemoryConfig's fields)"
                    if err["type"] == "extra_forbidden"
                    else err["msg"]
                )
                for err in exc.errors()
            )
            raise ConfigurationError(f"invalid memory-core configuration: {problems}") from exc
