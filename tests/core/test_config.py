"""`MemoryConfig`: documented defaults, ``from_env()`` and the default database location."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from memory_core import (
    ConfigurationError,
    ExecutionStep,
    LearningConfig,
    LimitsConfig,
    MemoryConfig,
    SyncSelfLearningMemory,
    TaskOutcome,
)
from memory_core.config import default_database_url


def test_defaults_are_the_documented_ones() -> None:
    config = MemoryConfig()
    assert config.database_url is None
    assert config.cache_max_episodes == 1000
    assert config.cache_max_patterns == 5000
    assert config.cache_ttl_seconds == 30
    assert config.flush_interval_ms == 100
    assert config.flush_max_pending == 1000
    assert config.load_plugins is True
    assert config.limits == LimitsConfig(
        max_description_bytes=10_000,
        max_steps_per_episode=1_000,
        max_step_output_bytes=10_000,
        max_parameters_bytes=1_000_000,
        max_episode_bytes=10_000_000,
    )
    assert config.learning.background is True
    assert config.learning.workers == 2
    # No quality gate by default: every well-formed episode is stored and learned from.
    assert config.learning.quality_threshold is None


def test_every_field_is_documented() -> None:
    for model in (MemoryConfig, LimitsConfig, LearningConfig):
        assert model.__doc__
        for name, field in model.model_fields.items():
            if name in ("limits", "reward", "learning", "retrieval"):
                continue  # sections document themselves
            assert field.description, f"{model.__name__}.{name} is not documented"


def test_readme_configuration_table_lists_the_top_level_settings() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for name in ("database_url", "cache_max_episodes", "cache_ttl_seconds", "flush_interval_ms"):
        assert f"`{name}`" in readme
        assert f"MEMORY_CORE_{name.upper()}" in readme


def test_default_database_is_a_sqlite_file_in_the_user_data_dir(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from platformdirs import user_data_dir

    monkeypatch.delenv("MEMORY_CORE_HOME", raising=False)
    expected = Path(user_data_dir("memory-core", appauthor=False)) / "memory.db"
    assert default_database_url() == f"sqlite:///{expected}"
    assert MemoryConfig().resolved_database_url == f"sqlite:///{expected}"


def test_memory_core_home_overrides_the_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MEMORY_CORE_HOME", str(tmp_path / "home"))
    assert MemoryConfig().resolved_database_url == f"sqlite:///{tmp_path / 'home' / 'memory.db'}"
    with SyncSelfLearningMemory(MemoryConfig(load_plugins=False)) as memory:
        eid = memory.start_episode("default store")
        memory.log_step(eid, ExecutionStep(tool="t", action="a"))
        memory.complete_episode(eid, TaskOutcome.success("ok"))
    assert (tmp_path / "home" / "memory.db").is_file()
    with SyncSelfLearningMemory(MemoryConfig(load_plugins=False)) as memory:
        assert memory.get_episode(eid).task_description == "default store"


def test_explicit_url_wins_over_the_default(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    assert MemoryConfig(database_url=url).resolved_database_url == url


def test_from_env_reads_top_level_and_nested_variables() -> None:
    env = {
        "MEMORY_CORE_DATABASE_URL": "sqlite:///:memory:",
        "MEMORY_CORE_CACHE_MAX_EPISODES": "7",
        "MEMORY_CORE_CACHE_TTL_SECONDS": "0.5",
        "MEMORY_CORE_FLUSH_INTERVAL_MS": "25",
        "MEMORY_CORE_LOAD_PLUGINS": "false",
        "MEMORY_CORE_LIMITS__MAX_STEPS_PER_EPISODE": "12",
        "MEMORY_CORE_LEARNING__WORKERS": "4",
        "MEMORY_CORE_LEARNING__QUALITY_THRESHOLD": "0.3",
        "MEMORY_CORE_RETRIEVAL__RECENCY_HALF_LIFE_DAYS": "14",
        # Not settings: read elsewhere, or by the test suite.
        "MEMORY_CORE_HOME": "/tmp/somewhere",
        "MEMORY_CORE_TEST_POSTGRES_URL": "postgresql://x@y/z",
        "OTHER_VARIABLE": "ignored",
    }
    config = MemoryConfig.from_env(env)
    assert config.database_url == "sqlite:///:memory:"
    assert config.cache_max_episodes == 7
    assert config.cache_ttl_seconds == 0.5
    assert config.flush_interval_ms == 25
    assert config.load_plugins is False
    assert config.limits.max_steps_per_episode == 12
    assert config.limits.max_description_bytes == 10_000
    assert config.learning.workers == 4
    assert config.learning.quality_threshold == 0.3
    assert config.retrieval.recency_half_life_days == 14


def test_from_env_reads_os_environ_and_overrides_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMORY_CORE_CACHE_MAX_EPISODES", "3")
    monkeypatch.setenv("MEMORY_CORE_LIMITS__MAX_STEPS_PER_EPISODE", "9")
    monkeypatch.setenv("MEMORY_CORE_DATABASE_URL", "")  # empty counts as unset
    config = MemoryConfig.from_env(cache_max_patterns=11, limits={"max_description_bytes": 50})
    assert config.cache_max_episodes == 3
    assert config.cache_max_patterns == 11
    assert config.database_url is None
    assert config.limits.max_steps_per_episode == 9  # overrides merge into a section
    assert config.limits.max_description_bytes == 50
    assert MemoryConfig.from_env({}, cache_max_episodes=1).cache_max_episodes == 1


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"MEMORY_CORE_CACHE_MAX_EPISODES": "many"}, ["MEMORY_CORE_CACHE_MAX_EPISODES"]),
        ({"MEMORY_CORE_CACHE_MAX_EPISODES": "-1"}, ["MEMORY_CORE_CACHE_MAX_EPISODES"]),
        ({"MEMORY_CORE_FLUSH_INTERVAL_MS": "0"}, ["MEMORY_CORE_FLUSH_INTERVAL_MS"]),
        ({"MEMORY_CORE_LOAD_PLUGINS": "perhaps"}, ["MEMORY_CORE_LOAD_PLUGINS"]),
        ({"MEMORY_CORE_CACHE_SIZE": "5"}, ["MEMORY_CORE_CACHE_SIZE", "names no setting"]),
        (
            {"MEMORY_CORE_LIMITS__MAX_STEPS_PER_EPISODE": "0"},
            ["MEMORY_CORE_LIMITS__MAX_STEPS_PER_EPISODE"],
        ),
        ({"MEMORY_CORE_LIMITS__MAX_STEPZ": "5"}, ["MEMORY_CORE_LIMITS__MAX_STEPZ"]),
        ({"MEMORY_CORE_LEARNING__WORKERS": "1000"}, ["MEMORY_CORE_LEARNING__WORKERS"]),
        ({"MEMORY_CORE_LEARNING__BACKPRESSURE": "drop"}, ["MEMORY_CORE_LEARNING__BACKPRESSURE"]),
        ({"MEMORY_CORE_LIMITS": "small"}, ["MEMORY_CORE_LIMITS"]),
        (
            {"MEMORY_CORE_LIMITS": "small", "MEMORY_CORE_LIMITS__MAX_STEPS_PER_EPISODE": "3"},
            ["MEMORY_CORE_LIMITS"],
        ),
        (
            {"MEMORY_CORE_CACHE_TTL_SECONDS": "1", "MEMORY_CORE_CACHE_TTL_SECONDS__X": "2"},
            ["MEMORY_CORE_CACHE_TTL_SECONDS"],
        ),
    ],
)
def test_bad_environment_values_raise_configuration_error(
    env: dict[str, str], names: list[str]
) -> None:
    with pytest.raises(ConfigurationError) as info:
        MemoryConfig.from_env(env)
    for name in names:
        assert name in str(info.value)


def test_config_is_validated_on_assignment() -> None:
    config = MemoryConfig()
    with pytest.raises(ValidationError):
        config.cache_max_episodes = -5
    with pytest.raises(ValidationError):
        MemoryConfig(flush_interval_ms=120_000)
    with pytest.raises(ValidationError):
        MemoryConfig(unknown_setting=1)


def test_bad_database_url_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="sqlite"):
        SyncSelfLearningMemory(MemoryConfig(database_url="mysql://u@h/db", load_plugins=False))
    with pytest.raises(ConfigurationError, match="sqlite"):
        SyncSelfLearningMemory(MemoryConfig(database_url="not a url", load_plugins=False))


def test_no_quality_gate_by_default(tmp_path: Path) -> None:
    """A poor but well-formed episode is stored and learned from with the defaults."""
    config = MemoryConfig(database_url=f"sqlite:///{tmp_path / 'q.db'}", load_plugins=False)
    with SyncSelfLearningMemory(config) as memory:
        eid = memory.start_episode("hopeless")
        memory.log_step(eid, {"tool": "t", "action": "a", "result": {"kind": "timeout"}})
        done = memory.complete_episode(eid, TaskOutcome.failure("gave up"))
        assert memory.wait_for_learning(timeout=30)
        stats = memory.stats()
        assert memory.get_episode(eid).outcome == done.outcome
        assert stats.episodes_completed == 1
        assert stats.learning.processed == 1
        assert stats.learning.rejected == 0
