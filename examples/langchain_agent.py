"""A LangChain agent that learns from its own runs, offline.

A ``create_agent`` deployment agent gets ``MemoryMiddleware``: before each new task it is
shown its most relevant past runs, and every run is recorded as an episode. The chat model
is scripted (langchain-core's ``GenericFakeChatModel``): it follows a naive plan (build,
then deploy) unless its system prompt tells it that deploying failed before and running
the tests first fixed it. So the first run hits an error and recovers; the next runs read
that lesson from memory and get it right the first time.

Run it with ``python examples/langchain_agent.py`` (no network, no API key; a temporary
SQLite file unless ``--db`` is given). It exits non-zero if the later runs did not improve.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import StructuredTool, ToolException

from memory_core import MemoryConfig, SyncSelfLearningMemory, TaskContext
from memory_core_langchain import MemoryMiddleware, MemoryRetriever

LESSON = "recovered with run_tests"
TESTED: set[str] = set()


# ----------------------------------------------------------------------------- tools


def run_tests(service: str) -> str:
    """Run the service's test suite."""
    TESTED.add(service)
    return f"{service}: 42 passed"


def build_image(service: str) -> str:
    """Build the service's container image."""
    return f"built image {service}:1.0"


def deploy(service: str) -> str:
    """Deploy the service's image to production."""
    if service not in TESTED:
        raise ToolException(f"refusing to deploy {service}: its tests have not run")
    return f"{service} is live"


TOOLS = [
    StructuredTool.from_function(func=fn, handle_tool_error=True)
    for fn in (run_tests, build_image, deploy)
]


# ----------------------------------------------------------------------------- model


class ScriptedDeployModel(GenericFakeChatModel):
    """Plans tool calls from the conversation; runs the tests first if memory says so."""

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any) -> Any:
        return self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: Any = None,
        **kwargs: Any,
    ) -> ChatResult:
        system = next((m for m in messages if isinstance(m, SystemMessage)), None)
        learned = system is not None and LESSON in system.text
        task = next(m for m in reversed(messages) if isinstance(m, HumanMessage))
        service = str(task.content).split(" of the ")[1].split()[0]
        done = [m for m in messages if isinstance(m, ToolMessage)]
        succeeded = {m.name for m in done if m.status != "error"}
        failed = any(m.status == "error" for m in done)
        plan = ["build_image", "deploy"]
        if learned or failed:
            plan = ["run_tests", "build_image", "deploy"]
        todo = [name for name in plan if name not in succeeded]
        usage = {"input_tokens": 40 + 10 * len(messages), "output_tokens": 12, "total_tokens": 0}
        usage["total_tokens"] = usage["input_tokens"] + usage["output_tokens"]
        if todo:
            call_id = f"{service}-{len(done)}"
            call = {"name": todo[0], "args": {"service": service}, "id": call_id}
            message = AIMessage(content="", tool_calls=[{**call, "type": "tool_call"}])
        else:
            message = AIMessage(content=f"{service} deployed")
        message.usage_metadata = usage  # type: ignore[assignment]
        return ChatResult(generations=[ChatGeneration(message=message)])


# ------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="SQLite file to keep the memory in")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "memory.db"
        config = MemoryConfig(database_url=f"sqlite:///{db}", load_plugins=False)
        with SyncSelfLearningMemory(config, namespace="deploy-agent") as memory:
            return run(memory)


def run(memory: SyncSelfLearningMemory) -> int:
    context = TaskContext(domain="deployment", language="python", tags=["ci"])
    middleware = MemoryMiddleware(memory, context=context, k=2)
    agent = create_agent(
        ScriptedDeployModel(messages=iter([])),
        TOOLS,
        system_prompt="You deploy services with the tools you have.",
        middleware=[middleware],
    )
    print("run | service  | lessons shown | steps | errors | reward | answer")
    print("----|----------|---------------|-------|--------|--------|-------")
    errors_per_run: list[int] = []
    for i, service in enumerate(["billing", "search", "auth", "payments"], 1):
        task = f"Deploy a fresh container image of the {service} service to production"
        shown = bool(memory.search_episodes(task, context, limit=2))
        out = agent.invoke({"messages": [("user", task)]})
        episode = memory.list_episodes(domain="deployment", limit=1)[0]
        errors_per_run.append(episode.failed_steps)
        reward = episode.reward.total if episode.reward else 0.0
        print(
            f"{i:>3} | {service:<8} | {'yes' if shown else 'no':<13} | {len(episode.steps):>5} "
            f"| {episode.failed_steps:>6} | {reward:>6.2f} | {out['messages'][-1].content}"
        )
        memory.wait_for_learning()

    print("\nWhat the memory says about redeploying billing (MemoryRetriever, top 1):\n")
    retriever = MemoryRetriever(memory=memory, k=1, context=context)
    for doc in retriever.invoke(
        "Deploy a fresh container image of the billing service to production"
    ):
        print(doc.page_content)
    stats = memory.stats()
    print(
        f"\n{stats.episodes_completed} episodes, {stats.patterns_total} patterns learned, "
        f"{middleware.errors} recording errors"
    )
    improved = errors_per_run[0] > 0 and all(n == 0 for n in errors_per_run[1:])
    print("later runs avoided the first run's error:", "yes" if improved else "NO")
    return 0 if improved and middleware.errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
