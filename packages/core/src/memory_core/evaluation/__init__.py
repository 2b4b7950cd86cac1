"""Measure the learning effect: a seeded task world, a scripted agent, peers, real requests.

``memory-core demo``, ``benchmarks/learning_effect.py`` and the learning-effect tests all
run on this package: a `TaskWorld` streams tasks, a `ScriptedAgent` solves them (exploring
tool by tool, or following a plan), and `run_stream` measures what an `Advisor` (memory-core
or a peer) changes: success, plan precision and recall, abstention on never-seen tasks,
steps, and answer time. `load_function_calling_requests` builds a stream of real,
human-written requests from a public function-calling benchmark shipped on PyPI.
"""

from memory_core.evaluation.advisors import (
    BM25Advisor,
    EmbeddingAdvisor,
    MemoryCoreAdvisor,
    NoMemory,
    context_words,
    solved_plan,
)
from memory_core.evaluation.agent import AgentRun, AgentStep, ScriptedAgent
from memory_core.evaluation.stream import (
    Advisor,
    CurvePoint,
    StreamReport,
    percentile,
    run_stream,
)
from memory_core.evaluation.world import DOMAINS, Family, Task, TaskWorld

__all__ = [
    "DOMAINS",
    "Advisor",
    "AgentRun",
    "AgentStep",
    "BM25Advisor",
    "CurvePoint",
    "EmbeddingAdvisor",
    "Family",
    "MemoryCoreAdvisor",
    "NoMemory",
    "ScriptedAgent",
    "StreamReport",
    "Task",
    "TaskWorld",
    "context_words",
    "percentile",
    "run_stream",
    "solved_plan",
]
