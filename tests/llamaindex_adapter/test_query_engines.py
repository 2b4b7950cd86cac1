"""Query engines that route to tools are recorded as episodes too; plain ones are not."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest
from llama_index.core.base.base_selector import BaseSelector, MultiSelection, SingleSelection
from llama_index.core.base.response.schema import StreamingResponse
from llama_index.core.llms import MockLLM
from llama_index.core.prompts.mixin import PromptDictType
from llama_index.core.query_engine import (
    CustomQueryEngine,
    RetrieverQueryEngine,
    RouterQueryEngine,
    SubQuestionQueryEngine,
)
from llama_index.core.question_gen.types import BaseQuestionGenerator, SubQuestion
from llama_index.core.schema import QueryBundle
from llama_index.core.tools import QueryEngineTool, ToolMetadata

from memory_core_llamaindex import MemoryRetriever


class Weather(CustomQueryEngine):
    """Answers weather questions."""

    def custom_query(self, query_str: str) -> str:
        return f"sunny ({query_str})"


class Broken(CustomQueryEngine):
    """Always fails."""

    def custom_query(self, query_str: str) -> str:
        raise RuntimeError("traffic service is down")


class ScriptedQuestions(BaseQuestionGenerator):
    """Splits every query into the same two sub-questions."""

    def _update_prompts(self, prompts_dict: PromptDictType) -> None:
        return None

    def _get_prompts(self) -> PromptDictType:
        return {}

    def generate(self, tools: Sequence[ToolMetadata], query: QueryBundle) -> list[SubQuestion]:
        return [
            SubQuestion(sub_question="weather in Paris?", tool_name="weather"),
            SubQuestion(sub_question="traffic in Paris?", tool_name="traffic"),
        ]

    async def agenerate(
        self, tools: Sequence[ToolMetadata], query: QueryBundle
    ) -> list[SubQuestion]:
        return self.generate(tools, query)


class PickFirst(BaseSelector):
    """Always routes to the first tool."""

    def _update_prompts(self, prompts_dict: PromptDictType) -> None:
        return None

    def _get_prompts(self) -> PromptDictType:
        return {}

    def _select(self, choices: Sequence[ToolMetadata], query: QueryBundle) -> MultiSelection:
        return MultiSelection(selections=[SingleSelection(index=0, reason="first")])

    async def _aselect(self, choices: Sequence[ToolMetadata], query: QueryBundle) -> MultiSelection:
        return self._select(choices, query)


def engine_tools() -> list[QueryEngineTool]:
    return [
        QueryEngineTool.from_defaults(Weather(), name="weather", description="weather"),
        QueryEngineTool.from_defaults(Broken(), name="traffic", description="traffic"),
    ]


@pytest.mark.parametrize("use_async", [False, True], ids=["query", "aquery"])
async def test_sub_question_engine_is_recorded(sqlite_memory, instrument, use_async) -> None:
    inst = instrument(sqlite_memory)
    engine = SubQuestionQueryEngine.from_defaults(
        query_engine_tools=engine_tools(),
        question_gen=ScriptedQuestions(),
        llm=MockLLM(),
        use_async=use_async,
        verbose=False,
    )

    if use_async:
        await engine.aquery("Should I cycle in Paris today?")
    else:
        engine.query("Should I cycle in Paris today?")

    [episode_id] = inst.completed_episodes
    episode = sqlite_memory.get_episode(episode_id)
    assert episode.task_description == "Should I cycle in Paris today?"
    assert episode.metadata["runner"] == "SubQuestionQueryEngine"
    by_tool = {s.tool: s for s in episode.steps}
    assert set(by_tool) == {"weather", "traffic"}
    assert by_tool["weather"].parameters == {"input": "weather in Paris?"}
    assert by_tool["weather"].result is not None
    assert by_tool["weather"].result.output == "sunny (weather in Paris?)"
    assert by_tool["traffic"].error_message == "RuntimeError: traffic service is down"
    assert episode.outcome is not None
    assert episode.outcome.kind == "success"


async def test_router_engine_is_recorded_async(sqlite_memory, instrument) -> None:
    inst = instrument(sqlite_memory)
    engine = RouterQueryEngine(
        selector=PickFirst(), query_engine_tools=engine_tools(), llm=MockLLM()
    )

    response = await engine.aquery("Is it sunny?")

    assert str(response) == "sunny (Is it sunny?)"
    episode = sqlite_memory.get_episode(inst.completed_episodes[0])
    assert episode.task_description == "Is it sunny?"
    assert [(s.tool, s.is_success) for s in episode.steps] == [("weather", True)]
    assert episode.outcome is not None
    assert episode.outcome.verdict == "sunny (Is it sunny?)"


def test_plain_query_engine_is_not_an_episode(sqlite_memory, instrument) -> None:
    inst = instrument(sqlite_memory)
    engine = RetrieverQueryEngine.from_args(MemoryRetriever(sqlite_memory), llm=MockLLM())

    engine.query("anything")

    assert inst.completed_episodes == []
    assert inst.errors == 0


def test_streaming_answers_are_left_to_the_caller(sqlite_memory, instrument) -> None:
    inst = instrument(sqlite_memory)
    streaming = RetrieverQueryEngine.from_args(
        MemoryRetriever(sqlite_memory), llm=MockLLM(), streaming=True
    )
    tool = QueryEngineTool.from_defaults(streaming, name="memory", description="memory")
    engine = RouterQueryEngine(selector=PickFirst(), query_engine_tools=[tool], llm=MockLLM())

    response = engine.query("What happened before?")

    assert isinstance(response, StreamingResponse)
    assert "".join(response.response_gen)  # recording did not consume the caller's stream
    episode = sqlite_memory.get_episode(inst.completed_episodes[0])
    assert [(s.tool, s.is_success) for s in episode.steps] == [("memory", True)]


def test_queries_from_many_threads_are_separate_episodes(sqlite_memory, instrument) -> None:
    inst = instrument(sqlite_memory)
    engine = SubQuestionQueryEngine.from_defaults(
        query_engine_tools=engine_tools(),
        question_gen=ScriptedQuestions(),
        llm=MockLLM(),
        use_async=False,
        verbose=False,
    )
    questions = [f"question {i}" for i in range(8)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(engine.query, questions))

    episodes = [sqlite_memory.get_episode(e) for e in inst.completed_episodes]
    assert sorted(e.task_description for e in episodes) == sorted(questions)
    for episode in episodes:
        assert sorted(s.tool for s in episode.steps) == ["traffic", "weather"]
    assert inst.errors == 0
