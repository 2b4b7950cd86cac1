"""Learning effect: does an agent with memory-core do better than with the best simple peer?

Two streams, every advisor in the same process on the same data:

* **Synthetic task world** (`memory_core.evaluation.TaskWorld`): 12 recurring task families
  over 4 domains that share tools, words and tags, plus rare ones; held-out phrasings in the
  second half; cold start; a scripted agent with a 24-step budget that explores tool by tool
  or follows the plan it is given. Reports success over the second half, recall and
  precision of suggested plans, abstention on tasks of a kind never solved before, steps
  per task and the advisor's answer time.
* **Real requests**: the 1,311 user-written requests of the Berkeley Function Calling
  Leaderboard's live sets, each labelled with the function that answers it (read from the
  installed ``bfcl-eval`` package: ``pip install --no-deps bfcl-eval``). Each request is
  first asked (which tool solved similar requests?), then stored as a successful one-step
  episode.

Advisors: no memory, ``bm25s`` over the description plus context words (what a user would
write instead), memory-core with its default configuration (a SQLite file, background
learning) through ``recommend_plan``.

    python benchmarks/learning_effect.py [--quick]
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from _bench import parse_args

from memory_core import MemoryConfig, MissingDependencyError, SyncSelfLearningMemory
from memory_core.evaluation import (
    Advisor,
    BM25Advisor,
    MemoryCoreAdvisor,
    NoMemory,
    ScriptedAgent,
    StreamReport,
    TaskWorld,
    run_stream,
)
from memory_core.evaluation.requests import (
    load_function_calling_requests,
    request_tasks,
    run_request,
)


def _memory(folder: Path, name: str) -> SyncSelfLearningMemory:
    config = MemoryConfig(database_url=f"sqlite:///{folder / name}.db", load_plugins=False)
    return SyncSelfLearningMemory(config, namespace="learning-effect")


def _row(data: str, seed: int, report: StreamReport, baseline_steps: float | None) -> str:
    saved = "" if baseline_steps is None else f"{baseline_steps - report.mean_steps:.1f}"
    first = report.success if data == "synthetic" else report.recall
    return (
        f"| {data} | {seed} | {report.advisor} | {first:.3f} | {report.recall:.3f} "
        f"| {report.precision:.3f} | {report.abstention:.3f} | {saved} "
        f"| {report.advice_p50_ms:.2f} | {report.advice_p95_ms:.2f} |"
    )


def main() -> None:
    args = parse_args(__doc__ or "")
    seeds = (1, 2, 3)
    tasks_per_stream = 120 if args.quick else 300
    print("\n### Learning effect (same process, same data)\n")
    print(
        "| data | seed | advisor | success (synthetic) / recall (real) | recall | precision "
        "| abstention on never-seen | steps saved | advice p50 ms | advice p95 ms |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for seed in seeds:
            tasks = TaskWorld(seed).tasks(tasks_per_stream)
            agent = ScriptedAgent(seed)
            baseline: float | None = None
            memory = _memory(folder, f"synthetic-{seed}")
            advisors: list[Advisor] = [NoMemory(), BM25Advisor(), MemoryCoreAdvisor(memory)]
            for advisor in advisors:
                report = run_stream(tasks, advisor, agent.run)
                print(_row("synthetic", seed, report, baseline), flush=True)
                if baseline is None:
                    baseline = report.mean_steps
            memory.close()
        try:
            requests = load_function_calling_requests()
        except MissingDependencyError as exc:
            print(f"\nreal requests skipped: {exc}")
            return
        if args.quick:
            requests = requests[:300]
        for seed in seeds:
            tasks = request_tasks(requests, seed)
            memory = _memory(folder, f"requests-{seed}")
            for advisor in (BM25Advisor(with_context=False), MemoryCoreAdvisor(memory)):
                print(_row("real requests", seed, run_stream(tasks, advisor, run_request), None))
            memory.close()


if __name__ == "__main__":
    main()
