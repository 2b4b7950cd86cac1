"""Rule-based reflection: what went well, what to improve, and insights (5 sentences max each).

Deterministic: the same episode always yields the same sentences, in the same order.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import datetime

from memory_core.learning.text import error_signature
from memory_core.models import ComplexityLevel, Episode, Reflection

__all__ = ["MAX_ITEMS", "Reflector"]

MAX_ITEMS = 5
"""Sentences kept per list."""

_EXPECTED_STEPS = {
    ComplexityLevel.SIMPLE: 5,
    ComplexityLevel.MODERATE: 15,
    ComplexityLevel.COMPLEX: 30,
}


def _first(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))[:MAX_ITEMS]


def _clip(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


class Reflector:
    """Builds a `Reflection` for a completed episode (pure, no I/O)."""

    def reflect(self, episode: Episode, *, generated_at: datetime | None = None) -> Reflection:
        """Reflect on one episode; ``generated_at`` defaults to its end time."""
        when = generated_at or episode.end_time
        extra = {} if when is None else {"generated_at": when}
        return Reflection(
            successes=_first(self._successes(episode)),
            improvements=_first(self._improvements(episode)),
            insights=_first(self._insights(episode)),
            **extra,
        )

    # ----------------------------------------------------------------- successes

    def _successes(self, episode: Episode) -> list[str]:
        out: list[str] = []
        outcome, steps = episode.outcome, episode.steps
        ok_steps = [s for s in steps if s.is_success]
        duration = episode.duration_seconds
        if outcome is not None and outcome.kind == "success":
            line = f"Completed the task: {_clip(outcome.verdict or '')}"
            if outcome.artifacts:
                line += f" ({_plural(len(outcome.artifacts), 'artifact')} produced)"
            out.append(line + ".")
        elif outcome is not None and outcome.kind == "partial_success":
            total = len(outcome.completed) + len(outcome.failed)
            out.append(
                f"Partly completed the task: {_clip(outcome.verdict or '')} "
                f"({len(outcome.completed)} of {total} subtasks done)."
            )
        if steps and episode.step_success_rate >= 0.8:
            out.append(
                f"{len(ok_steps)} of {len(steps)} steps succeeded "
                f"({episode.step_success_rate:.0%})."
            )
        if len(steps) >= 2 and len(ok_steps) >= 3:
            sequence = " → ".join(s.tool for s in ok_steps[:3])
            out.append(f"Effective tool sequence: {sequence}.")
        if duration is not None and duration < 30:
            out.append(f"Efficient execution: finished in {duration:.1f} s.")
        if outcome is None or outcome.kind not in ("success", "partial_success") or not steps:
            return out
        ok_tools = list(dict.fromkeys(s.tool for s in ok_steps))
        if len(ok_steps) >= 3:
            if len(ok_tools) >= 3:
                out.append(f"Used a diverse tool set effectively ({len(ok_tools)} tools).")
            else:
                out.append(f"Relied on a focused tool set: {', '.join(ok_tools)}.")
        recoveries = _recoveries(episode)
        if episode.step_success_rate > 0.9:
            out.append("Execution flowed smoothly with almost no failed steps.")
        elif recoveries >= 2:
            out.append(f"Recovered through iterative refinement ({recoveries} fixes).")
        context = episode.context
        if context.language and len(ok_steps) > 5:
            out.append(f"The approach worked well with {context.language}.")
        elif context.tags:
            out.append(f"The approach suited the context tags: {', '.join(context.tags[:3])}.")
        if duration is not None and (
            (duration < 60 and len(steps) < 15) or (len(steps) < 5 and duration < 120)
        ):
            out.append(f"Kept the run short: {_plural(len(steps), 'step')} in {duration:.0f} s.")
        return out

    # -------------------------------------------------------------- improvements

    def _improvements(self, episode: Episode) -> list[str]:
        out: list[str] = []
        outcome, steps = episode.outcome, episode.steps
        if outcome is not None and outcome.kind == "failure":
            line = f"The task failed: {_clip(outcome.reason or 'no reason given')}"
            if outcome.error_details:
                line += f" ({_clip(outcome.error_details, 80)})"
            out.append(line + ".")
        elif outcome is not None and outcome.kind == "partial_success" and outcome.failed:
            names = ", ".join(_clip(f, 40) for f in outcome.failed[:3])
            out.append(f"{_plural(len(outcome.failed), 'subtask')} not completed: {names}.")
        failed = [s for s in steps if not s.is_success]
        if failed:
            out.append(f"Reduce failed steps ({len(failed)} of {len(steps)} failed).")
        for tool, count in Counter(s.tool for s in failed).most_common():
            if count >= 2:
                out.append(
                    f"The tool {tool} failed {count} times; check its inputs or try another tool."
                )
                break
        duration = episode.duration_seconds
        if duration is not None and duration > 300:
            out.append(f"The run took {duration / 60:.0f} minutes; look for a shorter path.")
        if len(steps) > 50:
            out.append(f"The run used {len(steps)} steps; split the task or reuse known sequences.")
        errors = Counter(error_signature(s.error_message or "no result") for s in failed)
        for signature, count in errors.most_common(1):
            if count >= 2:
                out.append(f"The same error repeated {count} times: {_clip(signature, 80)}.")
        if not out and outcome is not None and outcome.kind in ("failure", "partial_success"):
            out.append("Review the approach: the task was not fully completed.")
        if len(steps) >= 2:
            latencies = [s.latency_ms for s in steps]
            average = sum(latencies) / len(latencies)
            slowest = max(range(len(steps)), key=lambda i: latencies[i])
            if latencies[slowest] > 3 * average and latencies[slowest] > 1000:
                step = steps[slowest]
                out.append(
                    f"Step {step.step_number or slowest + 1} ({step.tool}) was a bottleneck "
                    f"at {latencies[slowest]:.0f} ms."
                )
        for tool, count in Counter(s.tool for s in steps).most_common(1):
            if count >= 5:
                out.append(f"The tool {tool} was called {count} times; batch or cache those calls.")
        if len(failed) >= 3:
            tools = {s.tool for s in failed}
            if len(tools) == 1:
                out.append(f"All failures came from {next(iter(tools))}; fix that tool first.")
            else:
                out.append(
                    f"Failures spread over {len(tools)} tools; stabilise the environment first."
                )
        if len(steps) >= 4:
            repeats = sum(1 for a, b in itertools.pairwise(steps) if a.tool == b.tool)
            if repeats >= 2:
                out.append("Consecutive calls to the same tool could be batched or parallelised.")
        usage = episode.token_usage
        tokens = usage.total_tokens if usage else sum(s.tokens_used or 0 for s in steps)
        if tokens > 10_000:
            out.append(f"High token usage ({tokens:,} tokens); trim prompts or context.")
        return out

    # ------------------------------------------------------------------ insights

    def _insights(self, episode: Episode) -> list[str]:
        out: list[str] = []
        steps, outcome, context = episode.steps, episode.outcome, episode.context
        rate = episode.step_success_rate
        if outcome is not None and outcome.kind == "abstained":
            line = f"Stopped at step {outcome.stopped_at_step}: {_clip(outcome.reason or '')}"
            if outcome.infeasibility_signals:
                line += f" (signals: {', '.join(outcome.infeasibility_signals[:3])})"
            out.append(line + ".")
        if len(steps) >= 2:
            if rate == 1.0:
                out.append("Every step succeeded: the approach is reliable.")
            elif rate >= 0.8:
                out.append(f"Steps were mostly reliable ({rate:.0%} succeeded).")
            elif rate < 0.5:
                out.append("Fewer than half of the steps succeeded; rework the approach.")
            for failed, fixed in itertools.pairwise(steps):
                if not failed.is_success and fixed.is_success:
                    signature = error_signature(failed.error_message or "no result")
                    out.append(f"The tool {fixed.tool} recovered from: {_clip(signature, 80)}.")
                    break
        out.append(
            f"Task in the {context.domain} domain with {context.complexity.value} complexity."
        )
        if len(steps) >= 2:
            tools = list(dict.fromkeys(s.tool for s in steps))
            if len(tools) > 5:
                out.append(f"Broad tool use: {len(tools)} distinct tools.")
            elif len(tools) == 1 and len(steps) > 3:
                out.append(f"Single-tool run: {tools[0]} over {len(steps)} steps.")
            average = sum(s.latency_ms for s in steps) / len(steps)
            if average > 5000:
                out.append(f"Slow steps: {average / 1000:.1f} s on average.")
            expected = _EXPECTED_STEPS[context.complexity]
            if len(steps) < expected / 2:
                out.append(
                    f"Fewer steps ({len(steps)}) than usual for a {context.complexity.value} "
                    f"task (about {expected})."
                )
            elif len(steps) > expected * 2:
                out.append(
                    f"More steps ({len(steps)}) than usual for a {context.complexity.value} "
                    f"task (about {expected})."
                )
            duration = episode.duration_seconds
            if rate > 0.8 and duration is not None and duration < 120:
                out.append("A fast, reliable strategy worth reusing.")
            elif rate < 0.5:
                out.append("Consider a different strategy for this kind of task.")
        if episode.pattern_ids:
            out.append(f"Linked to {_plural(len(episode.pattern_ids), 'learned pattern')}.")
        if outcome is not None and outcome.kind == "success" and steps:
            tools = list(dict.fromkeys(s.tool for s in steps if s.is_success))[:3]
            if tools:
                where = f"{context.domain} tasks"
                if context.language:
                    where += f" in {context.language}"
                out.append(f"For similar {where}, prioritise: {', '.join(tools)}.")
        return out


def _recoveries(episode: Episode) -> int:
    steps = episode.steps
    return sum(1 for a, b in itertools.pairwise(steps) if not a.is_success and b.is_success)
