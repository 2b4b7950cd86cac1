"""From ranked episodes to one recommended plan: the tools that solved tasks like this one.

Every relevant episode votes, weighted by its task relevance to the fourth power (so the
best evidence leads and near-ties share): a successful episode for the tool sequence of its
successful steps; an episode that followed a recommended plan and failed, or had to correct
it, against that plan (feedback). A failed episode also votes for the steps it got right:
for a plan that goes on from them (the longest-running evidence wins), else for those steps
as a partial plan (success rate 0) that spares the next attempt their exploration. A plan
the failed run followed and completed before going on is not held against it (it was right
as far as it went). The plan with the most votes wins if its votes are positive; it is
returned with its evidence, success rate and how clearly it beat the alternatives. With no
relevant episode there is no plan: a wrong lesson is worse than none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from uuid import UUID

from memory_core.models import Episode, PlanStep, RecommendedPlan, RetrievedEpisode

__all__ = [
    "CORRECTED_PLAN_PENALTY",
    "FAILED_PLAN_PENALTY",
    "PARTIAL_PLAN_WEIGHT",
    "VOTE_EXPONENT",
    "recommend_plan",
    "solved_tools",
]

FAILED_PLAN_PENALTY = 1.0
"""Votes (times relevance) a failed episode takes from the plan it was given."""
CORRECTED_PLAN_PENALTY = 0.5
"""Votes (times relevance) a successful episode takes from a plan it had to correct."""
VOTE_EXPONENT = 4.0
"""Votes grow with relevance to this power: the best evidence dominates, near-ties share."""
PARTIAL_PLAN_WEIGHT = 1.0
"""Votes (times relevance) a failed episode gives the tools of its successful steps (or a
plan that goes on from them)."""
_MAX_TOOLS = 20


def solved_tools(episode: Episode) -> tuple[str, ...]:
    """The tools of an episode's successful steps, in order (at most 20)."""
    tools = tuple(step.tool for step in episode.steps if step.is_success)
    return tools[:_MAX_TOOLS]


def _succeeded(episode: Episode) -> bool:
    return episode.outcome is not None and episode.outcome.kind == "success"


@dataclass(slots=True)
class _Candidate:
    votes: float = 0.0
    partial: float = 0.0
    against: float = 0.0
    evidence: list[RetrievedEpisode] = field(default_factory=list)

    @property
    def net(self) -> float:
        return self.votes + self.partial - self.against


def _goes_on_from(tools: tuple[str, ...], plan: tuple[str, ...]) -> bool:
    """True if ``tools`` did all of ``plan``, in order, and then more."""
    return len(tools) > len(plan) and tools[: len(plan)] == plan


def recommend_plan(found: Sequence[RetrievedEpisode]) -> RecommendedPlan | None:
    """The plan the ranked episodes ``found`` support best, or None.

    ``found`` should hold only relevant episodes (above the relevance floor), best first.
    """
    candidates: dict[tuple[str, ...], _Candidate] = {}
    partial: list[tuple[tuple[str, ...], tuple[str, ...], RetrievedEpisode]] = []
    for hit in found:
        episode = hit.episode
        weight = max(hit.relevance, 0.0) ** VOTE_EXPONENT
        followed = tuple(episode.followed_plan)
        tools = solved_tools(episode)
        if _succeeded(episode):
            if tools:
                entry = candidates.setdefault(tools, _Candidate())
                entry.votes += weight
                entry.evidence.append(hit)
            if followed and followed != tools:
                candidates.setdefault(followed, _Candidate()).against += (
                    CORRECTED_PLAN_PENALTY * weight
                )
            continue
        if followed and not _goes_on_from(tools, followed):
            candidates.setdefault(followed, _Candidate()).against += FAILED_PLAN_PENALTY * weight
        if tools:
            partial.append((tools, followed, hit))
    for tools, followed, hit in sorted(partial, key=lambda p: -len(p[0])):
        # never for the plan that run followed: it did not get the run through
        longer = [
            (entry.votes + entry.partial, key)
            for key, entry in candidates.items()
            if entry.evidence and key != followed and key[: len(tools)] == tools
        ]
        entry = candidates.setdefault(max(longer)[1] if longer else tools, _Candidate())
        entry.partial += PARTIAL_PLAN_WEIGHT * max(hit.relevance, 0.0) ** VOTE_EXPONENT
        entry.evidence.append(hit)
    best_tools: tuple[str, ...] | None = None
    best: _Candidate | None = None
    for tools, entry in candidates.items():
        if entry.evidence and entry.net > 0 and (best is None or entry.net > best.net):
            best_tools, best = tools, entry
    if best is None or best_tools is None:
        return None
    top = best.evidence[0]
    total = sum(c.votes + c.partial + c.against for c in candidates.values())
    steps = [PlanStep(tool=s.tool, action=s.action) for s in top.episode.steps if s.is_success]
    evidence: list[UUID] = [h.episode.episode_id for h in best.evidence]
    failures = best.against
    return RecommendedPlan(
        tools=list(best_tools),
        steps=steps[:_MAX_TOOLS],
        evidence=evidence,
        support=len(evidence),
        success_rate=best.votes / (best.votes + failures) if best.votes + failures > 0 else 0.0,
        confidence=min(1.0, best.net / total) if total > 0 else 0.0,
        relevance=top.relevance,
        task_description=top.episode.task_description,
    )
