"""Real, human-written requests labelled with the function that answers them.

The Berkeley Function Calling Leaderboard's "live" sets hold requests that users wrote to
real function-calling deployments, each with the function call that answers it; the
``bfcl-eval`` package ships them. Install it without its (heavy, pinned) dependencies,
``pip install --no-deps bfcl-eval``: only its data files are read, from the installed
distribution, and nothing is downloaded at run time.

As a stream, each request is a one-step task: the memory is asked which tool solved
similar requests, then the request is stored as a successful episode that called its
function.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from memory_core.errors import MissingDependencyError
from memory_core.evaluation.agent import AgentRun, AgentStep
from memory_core.evaluation.world import Family, Task
from memory_core.models import TaskContext, TaskType

__all__ = [
    "FunctionRequest",
    "load_function_calling_requests",
    "request_tasks",
    "run_request",
]

_DISTRIBUTION = "bfcl-eval"
_SETS = ("BFCL_v4_live_simple", "BFCL_v4_live_multiple")


@dataclass(frozen=True, slots=True)
class FunctionRequest:
    """One user request and the function that answers it."""

    request_id: str
    text: str
    function: str


def _data_dir() -> Path:
    try:
        dist = metadata.distribution(_DISTRIBUTION)
    except metadata.PackageNotFoundError as exc:
        raise MissingDependencyError(
            "the real-request stream reads the data the bfcl-eval package ships: "
            "pip install --no-deps bfcl-eval"
        ) from exc
    return Path(str(dist.locate_file("bfcl_eval/data")))


def load_function_calling_requests() -> list[FunctionRequest]:
    """Every single-call request of BFCL's live sets (1,311), with its answering function.

    Raises:
        MissingDependencyError: ``bfcl-eval`` is not installed.
    """
    folder = _data_dir()
    out: list[FunctionRequest] = []
    for name in _SETS:
        answers: dict[str, str] = {}
        with (folder / "possible_answer" / f"{name}.json").open(encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    row = json.loads(line)
                    answers[row["id"]] = next(iter(row["ground_truth"][0]))
        with (folder / f"{name}.json").open(encoding="utf-8") as lines:
            for line in lines:
                if not line.strip():
                    continue
                row = json.loads(line)
                turns = [m for m in row["question"][0] if m.get("role") == "user"]
                if turns and row["id"] in answers:
                    out.append(
                        FunctionRequest(row["id"], turns[-1]["content"].strip(), answers[row["id"]])
                    )
    return out


def request_tasks(requests: list[FunctionRequest], seed: int) -> list[Task]:
    """The requests as a stream of one-step tasks, in a seeded random order."""
    order = list(requests)
    random.Random(seed).shuffle(order)
    families: dict[str, Family] = {}
    tasks = []
    for index, request in enumerate(order):
        family = families.setdefault(
            request.function,
            Family(
                name=request.function,
                domain="general",
                tag="",
                generic_tag="",
                task_type=TaskType.OTHER,
                sequence=(request.function,),
                phrasings=(),
            ),
        )
        description = request.text[:2_000] or request.function
        tasks.append(Task(index, family, description, TaskContext(), held_out=False))
    return tasks


def run_request(task: Task, plan: tuple[str, ...] | None) -> AgentRun:
    """A request is answered by calling its function (one step, always successful)."""
    function = task.sequence[0]
    step = AgentStep(function, f"call {function}")
    return AgentRun((step,), True, plan, plan is not None and plan[:1] == (function,))
