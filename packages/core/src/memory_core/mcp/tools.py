"""The memory's tools, mirroring the Python API: same names, same argument names.

Each tool awaits the `SelfLearningMemory` facade and answers with our models' JSON. A
memory-core error becomes an MCP tool error carrying its message (``"EpisodeNotFoundError:
episode ... does not exist ..."``); the server goes on serving.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from memory_core.mcp._convert import (
    ContextArg,
    EpisodeIdArg,
    LimitArg,
    OutcomeArg,
    OutcomeKindArg,
    PatternIdArg,
    ResultArg,
    TaskTypeArg,
    as_utc,
    parse_id,
    tool_errors,
    tool_result,
)
from memory_core.mcp._sdk import CallToolResult, MCPServer, ToolAnnotations
from memory_core.memory import SelfLearningMemory
from memory_core.models import (
    Episode,
    ExecutionStep,
    Heuristic,
    MemoryStats,
    Pattern,
    RecommendedPlan,
    RetrievedEpisode,
    RetrievedPattern,
    TaskType,
)

__all__ = ["TOOL_NAMES", "EpisodeStarted", "register_tools"]

TOOL_NAMES = (
    "start_episode",
    "log_step",
    "complete_episode",
    "search_episodes",
    "search_patterns",
    "retrieve_heuristics",
    "recommend_plan",
    "get_episode",
    "list_episodes",
    "get_pattern",
    "record_pattern_application",
    "stats",
)
"""The tools every server has, in the order they are listed."""


class EpisodeStarted(BaseModel):
    """What ``start_episode`` answers: the id of the new episode."""

    model_config = ConfigDict(extra="forbid")

    episode_id: UUID


_READ = ToolAnnotations(read_only_hint=True, open_world_hint=False)
_WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)

_START = """Start recording a task you are about to work on; returns its episode_id.

Call it once per task, before the first step you want remembered, then pass the
episode_id to log_step for every step and to complete_episode at the end. The context
(domain, language, framework, complexity, tags) is what later searches match on."""

_LOG = """Record one step of an episode in progress, usually one tool call: the tool,
what you did with it (action), its parameters and what came of it (result).

Log steps in the order they happened, including the ones that failed: errors followed by a
fix are what the memory learns recoveries from. Returns the stored step with its
step_number."""

_COMPLETE = """Finish an episode with its outcome. The memory scores it (reward), reflects
on it (successes, improvements, insights) and learns reusable patterns from it.

Returns the completed episode: reward (total and components), reflection, and pattern_ids,
the patterns learned from it (read one with get_pattern). An episode is completed once."""

_SEARCH_EPISODES = """Find past episodes relevant to a task, best first. Call it before
starting a task to learn from earlier attempts: what worked, what failed, how errors were
recovered.

Each result has the episode, its score, and breakdown: how much lexical match, context,
reward, recency and diversity contributed (they add up to score). Returns [] when nothing
stored is relevant enough; include_below_floor=true also returns weakly related episodes,
flagged below_floor. domain, task_type, outcome_kind and min_reward are hard filters."""

_SEARCH_PATTERNS = """Find learned patterns for a context and/or a task description, best
first, each with score and breakdown: tool sequences that worked, decision points, error
recoveries and context patterns.

Pass the episode_id of the episode in progress to credit these patterns with its outcome
when it completes (that is how the memory learns which patterns help)."""

_HEURISTICS = """Get learned condition -> action rules that fit a context, best first.
Only rules backed by several episodes with enough confidence are returned."""

_PLAN = """The plan memory recommends for a task: the tools that solved tasks like it, in
order, with what each was used for (steps), the evidence episodes, support, success_rate and
confidence (0-1). success_rate 0 marks a partial plan: the steps that worked in failed
attempts at similar tasks (follow them, then explore). Answers null when memory holds
nothing relevant: then work it out yourself.

Pass the episode_id of the episode in progress to record that this run follows the plan;
if the run fails, the plan ranks lower next time."""

_GET_EPISODE = """Return one episode (in progress or completed) with its steps, outcome,
reward and reflection."""

_LIST_EPISODES = """List episodes, newest first, with their steps; every filter is
optional. completed=false lists the episodes still in progress."""

_GET_PATTERN = """Return one learned pattern: its kind, content, success rate, support
and effectiveness."""

_RECORD = """Record that you applied a pattern and whether it helped, so its
effectiveness is updated. episode_id (optional) is the episode in which it was applied;
reward_delta (optional) how much better (positive) or worse the task went than usual.
Returns the pattern updated."""

_STATS = """Counts of episodes, patterns and heuristics in this memory, with cache and
learning-queue counters."""


def register_tools(
    server: MCPServer, memory: SelfLearningMemory, *, learning_wait_seconds: float = 5.0
) -> None:
    """Add the memory's tools to ``server``.

    Args:
        server: The MCP server.
        memory: The memory the tools read and write (its namespace is the only one reachable).
        learning_wait_seconds: How long ``complete_episode`` waits for background learning,
            so that its answer lists the patterns learned from the episode.
    """

    @server.tool(description=_START, annotations=_WRITE)
    async def start_episode(
        task_description: Annotated[
            str, Field(description="What the task is, in one or two sentences.")
        ],
        context: ContextArg = None,
        task_type: TaskTypeArg = None,
    ) -> Annotated[CallToolResult, EpisodeStarted]:
        with tool_errors():
            episode_id = await memory.start_episode(
                task_description, context, task_type or TaskType.OTHER
            )
        return tool_result(EpisodeStarted(episode_id=episode_id), EpisodeStarted)

    @server.tool(description=_LOG, annotations=_WRITE)
    async def log_step(
        episode_id: EpisodeIdArg,
        tool: Annotated[str, Field(description="The tool used, e.g. 'pytest' or 'web_search'.")],
        action: Annotated[str, Field(description="What was done with it, in a few words.")],
        parameters: Annotated[
            dict[str, Any] | None, Field(description="The tool's arguments, as JSON.")
        ] = None,
        result: ResultArg = None,
        latency_ms: Annotated[
            float | None, Field(description="How long the step took, in milliseconds.")
        ] = None,
        tokens_used: Annotated[
            int | None, Field(description="Model tokens the step used, if known.")
        ] = None,
    ) -> Annotated[CallToolResult, ExecutionStep]:
        step: dict[str, Any] = {"tool": tool, "action": action}
        optional = {
            "parameters": parameters,
            "result": result,
            "latency_ms": latency_ms,
            "tokens_used": tokens_used,
        }
        step.update({key: value for key, value in optional.items() if value is not None})
        with tool_errors():
            stored = await memory.log_step(parse_id(episode_id, "episode"), step)
        return tool_result(stored, ExecutionStep)

    @server.tool(description=_COMPLETE, annotations=_WRITE)
    async def complete_episode(
        episode_id: EpisodeIdArg, outcome: OutcomeArg
    ) -> Annotated[CallToolResult, Episode]:
        with tool_errors():
            key = parse_id(episode_id, "episode")
            episode = await memory.complete_episode(key, outcome)
            if not episode.pattern_ids and await memory.wait_for_learning(learning_wait_seconds):
                episode = await memory.get_episode(key)
        return tool_result(episode, Episode)

    @server.tool(description=_SEARCH_EPISODES, annotations=_READ)
    async def search_episodes(
        task_description: Annotated[str, Field(description="The task you are about to do.")],
        context: ContextArg = None,
        limit: LimitArg = 5,
        domain: Annotated[str | None, Field(description="Only this domain.")] = None,
        task_type: TaskTypeArg = None,
        outcome_kind: OutcomeKindArg = None,
        min_reward: Annotated[float | None, Field(description="Only rewards >= this.")] = None,
        include_below_floor: Annotated[
            bool, Field(description="Also return weakly related episodes, flagged below_floor.")
        ] = False,
    ) -> Annotated[CallToolResult, list[RetrievedEpisode]]:
        with tool_errors():
            found = await memory.search_episodes(
                task_description,
                context,
                limit,
                domain=domain,
                task_type=task_type,
                outcome_kind=outcome_kind,
                min_reward=min_reward,
                include_below_floor=include_below_floor,
            )
        return tool_result(found, list[RetrievedEpisode])

    @server.tool(description=_SEARCH_PATTERNS, annotations=_WRITE)  # counts retrievals
    async def search_patterns(
        context: ContextArg = None,
        task_description: Annotated[
            str | None, Field(description="The task, to favour patterns that match it.")
        ] = None,
        limit: LimitArg = 10,
        episode_id: Annotated[
            str | None,
            Field(description="The episode in progress, credited with these patterns."),
        ] = None,
    ) -> Annotated[CallToolResult, list[RetrievedPattern]]:
        with tool_errors():
            found = await memory.search_patterns(
                context,
                limit,
                task_description=task_description,
                episode_id=None if episode_id is None else parse_id(episode_id, "episode"),
            )
        return tool_result(found, list[RetrievedPattern])

    @server.tool(description=_HEURISTICS, annotations=_READ)
    async def retrieve_heuristics(
        context: ContextArg = None, limit: LimitArg = 5
    ) -> Annotated[CallToolResult, list[Heuristic]]:
        with tool_errors():
            found = await memory.retrieve_heuristics(context, limit)
        return tool_result(found, list[Heuristic])

    @server.tool(description=_PLAN, annotations=_WRITE)  # may record the plan on the episode
    async def recommend_plan(
        task_description: Annotated[str, Field(description="The task you are about to do.")],
        context: ContextArg = None,
        episode_id: Annotated[
            str | None, Field(description="The episode in progress that follows the plan.")
        ] = None,
    ) -> Annotated[CallToolResult, RecommendedPlan | None]:
        with tool_errors():
            plan = await memory.recommend_plan(
                task_description,
                context,
                episode_id=None if episode_id is None else parse_id(episode_id, "episode"),
            )
        return tool_result(plan, RecommendedPlan | None)

    @server.tool(description=_GET_EPISODE, annotations=_READ)
    async def get_episode(episode_id: EpisodeIdArg) -> Annotated[CallToolResult, Episode]:
        with tool_errors():
            episode = await memory.get_episode(parse_id(episode_id, "episode"))
        return tool_result(episode, Episode)

    @server.tool(description=_LIST_EPISODES, annotations=_READ)
    async def list_episodes(
        domain: Annotated[str | None, Field(description="Only this domain.")] = None,
        task_type: TaskTypeArg = None,
        outcome_kind: OutcomeKindArg = None,
        completed: Annotated[
            bool | None, Field(description="true: completed only; false: in progress only.")
        ] = None,
        since: Annotated[
            datetime | None, Field(description="Started at or after (ISO 8601, UTC if bare).")
        ] = None,
        until: Annotated[
            datetime | None, Field(description="Started before (ISO 8601, UTC if bare).")
        ] = None,
        min_reward: Annotated[float | None, Field(description="Only rewards >= this.")] = None,
        limit: LimitArg = 20,
        offset: Annotated[int, Field(description="How many to skip (paging).")] = 0,
    ) -> Annotated[CallToolResult, list[Episode]]:
        with tool_errors():
            found = await memory.list_episodes(
                domain=domain,
                task_type=task_type,
                outcome_kind=outcome_kind,
                completed=completed,
                since=as_utc(since),
                until=as_utc(until),
                min_reward=min_reward,
                limit=limit,
                offset=offset,
            )
        return tool_result(found, list[Episode])

    @server.tool(description=_GET_PATTERN, annotations=_READ)
    async def get_pattern(pattern_id: PatternIdArg) -> Annotated[CallToolResult, Pattern]:
        with tool_errors():
            pattern = await memory.get_pattern(parse_id(pattern_id, "pattern"))
        return tool_result(pattern, Pattern)

    @server.tool(description=_RECORD, annotations=_WRITE)
    async def record_pattern_application(
        pattern_id: PatternIdArg,
        helped: Annotated[bool, Field(description="Whether applying the pattern helped.")],
        episode_id: Annotated[
            str | None, Field(description="The episode in which it was applied.")
        ] = None,
        reward_delta: Annotated[
            float | None, Field(description="How much better (or worse) the task went.")
        ] = None,
    ) -> Annotated[CallToolResult, Pattern]:
        with tool_errors():
            pattern = await memory.record_pattern_application(
                parse_id(pattern_id, "pattern"),
                None if episode_id is None else parse_id(episode_id, "episode"),
                helped,
                reward_delta,
            )
        return tool_result(pattern, Pattern)

    @server.tool(description=_STATS, annotations=_READ)
    async def stats() -> Annotated[CallToolResult, MemoryStats]:
        with tool_errors():
            snapshot = await memory.stats()
        return tool_result(snapshot, MemoryStats)
