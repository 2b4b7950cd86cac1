"""A LlamaIndex agent that learns from its own runs (offline: a scripted LLM, no API key).

Run it with ``python examples/llamaindex_agent.py [--db PATH]``. It

1. records two runs of a ``FunctionAgent`` as episodes with `MemoryInstrumentation`
   (the first one hits a failing tool and recovers),
2. asks the memory about a new, similar task through `MemoryRetriever` in a
   ``RetrieverQueryEngine``,
3. runs a third agent that calls the memory tool (`create_memory_tool`) before acting,
   and is itself recorded.

The LLM is a scripted subclass of LlamaIndex's ``MockFunctionCallingLLM``, so the run is
deterministic and needs no network; swap in any real LlamaIndex LLM to use it for real.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import AsyncGenerator, Sequence
from pathlib import Path
from typing import Any

from llama_index.core import Settings
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ToolCallBlock,
)
from llama_index.core.embeddings import MockEmbedding
from llama_index.core.llms import MockLLM
from llama_index.core.llms.callbacks import llm_chat_callback
from llama_index.core.llms.mock import MockFunctionCallingLLM
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.tools import FunctionTool
from pydantic import Field

from memory_core import MemoryConfig, SelfLearningMemory
from memory_core_llamaindex import MemoryInstrumentation, MemoryRetriever, create_memory_tool

CONTEXT = {"domain": "web-api", "language": "python", "tags": ["auth"]}


class ScriptedLLM(MockFunctionCallingLLM):
    """Answers from a script of assistant messages and reports token usage."""

    script: list[ChatMessage] = Field(default_factory=list)

    @llm_chat_callback()
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        message = self.script.pop(0)
        usage = {"prompt_tokens": 25 * len(messages), "completion_tokens": 8}

        async def gen() -> AsyncGenerator[ChatResponse, None]:
            yield ChatResponse(message=message, delta=message.content or "", raw={"usage": usage})

        return gen()


def call(tool: str, call_id: str, **kwargs: Any) -> ChatMessage:
    return ChatMessage(
        role="assistant",
        blocks=[ToolCallBlock(tool_call_id=call_id, tool_name=tool, tool_kwargs=kwargs)],
    )


def say(text: str) -> ChatMessage:
    return ChatMessage(role="assistant", content=text)


# --- the agent's tools (a pretend code base) -------------------------------------------


def run_tests(path: str) -> str:
    """Run the test file at ``path`` and report the result."""
    return f"{path}: 1 failed (expected 200, got 401)"


def apply_patch(file: str, change: str) -> str:
    """Apply a change to a file."""
    if file.endswith(".cfg"):
        raise PermissionError(f"{file} is read-only")
    return f"patched {file}: {change}"


TOOLS = [FunctionTool.from_defaults(fn=run_tests), FunctionTool.from_defaults(fn=apply_patch)]


async def main(db: Path) -> None:
    # Keep LlamaIndex's global defaults offline too (its default LLM would need a key).
    Settings.llm = MockLLM()
    Settings.embed_model = MockEmbedding(embed_dim=8)

    config = MemoryConfig(database_url=f"sqlite:///{db}", load_plugins=False)
    async with SelfLearningMemory(config, namespace="llamaindex-example") as memory:
        with MemoryInstrumentation(memory, context=CONTEXT, task_type="debugging") as capture:
            # Run 1: the first patch targets a read-only file, the second one works.
            agent = FunctionAgent(
                tools=TOOLS,
                llm=ScriptedLLM(
                    script=[
                        call("run_tests", "c1", path="tests/test_login.py"),
                        call("apply_patch", "c2", file="auth.cfg", change="token ttl"),
                        call("apply_patch", "c3", file="auth/session.py", change="fix expiry"),
                        say("Fixed: the session expiry check was inverted."),
                    ]
                ),
            )
            print(await agent.run(user_msg="Fix the failing login test"))

            # Run 2: a quick, clean run on another task.
            agent = FunctionAgent(
                tools=TOOLS,
                llm=ScriptedLLM(
                    script=[
                        call("run_tests", "c1", path="tests/test_signup.py"),
                        say("The signup test failure is a known flaky fixture."),
                    ]
                ),
            )
            print(await agent.run(user_msg="Investigate the signup test failure"))

            for episode_id in capture.completed_episodes:
                episode = await memory.get_episode(episode_id)
                steps = ", ".join(
                    f"{s.tool}{'' if s.is_success else ' (failed)'}" for s in episode.steps
                )
                reward = episode.reward.total if episode.reward else 0.0
                print(f"recorded: {episode.task_description!r}: {steps}; reward {reward:.2f}")
            assert capture.errors == 0, capture.last_error

        # Retrieval across runs: the memory as a LlamaIndex retriever.
        engine = RetrieverQueryEngine.from_args(
            MemoryRetriever(memory=memory, k=2, context=CONTEXT), llm=Settings.llm
        )
        response = await engine.aquery("Fix the failing logout test")
        print("\nmemories for 'Fix the failing logout test':")
        for hit in response.source_nodes:
            print(f"--- score {hit.score:.2f}\n{hit.node.get_content()}")
        assert "Fix the failing login test" in response.source_nodes[0].node.get_content()

        # Run 3: the agent consults its memory first (and is recorded too).
        tool = create_memory_tool(memory, k=1, context=CONTEXT)
        with MemoryInstrumentation(memory, context=CONTEXT, task_type="debugging") as capture:
            agent = FunctionAgent(
                tools=[tool, *TOOLS],
                llm=ScriptedLLM(
                    script=[
                        call("search_memory", "m1", task="Fix the failing logout test"),
                        call("apply_patch", "c1", file="auth/session.py", change="fix logout"),
                        say("Fixed, avoiding the read-only config this time."),
                    ]
                ),
            )
            handler = agent.run(user_msg="Fix the failing logout test")
            async for event in handler.stream_events():
                if type(event).__name__ == "ToolCallResult" and event.tool_name == "search_memory":
                    print(f"\nthe agent recalled:\n{event.tool_output.content}")
            print(await handler)
            [episode_id] = capture.completed_episodes
            episode = await memory.get_episode(episode_id)
            assert [s.tool for s in episode.steps] == ["search_memory", "apply_patch"]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="SQLite file (default: a temporary one)")
    args = parser.parse_args()
    if args.db is not None:
        asyncio.run(main(args.db))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(main(Path(tmp) / "memory.db"))
