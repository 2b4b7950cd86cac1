"""A seeded generator of agent tasks for the load benchmarks.

Tasks come from *families*: a domain, a language, tags, a task type, a verb/object
template and a fixed sequence of four tools. Runs of one family share their tools, so
learning merges them into one tool-sequence pattern; with the default sizes there are
about 1,500 families, so thousands of patterns exist once a few thousand episodes are
learned. Queries are fresh paraphrases (other words, other identifiers) of a family's task.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from memory_core import ExecutionResult, ExecutionStep, TaskContext, TaskOutcome, TaskType

__all__ = ["Family", "Task", "Workload"]

DOMAINS = [
    "web-api", "billing", "search", "auth", "payments", "etl", "ml-training", "frontend",
    "mobile", "infra", "observability", "messaging", "storage", "cli-tools", "data-viz",
    "security", "compliance", "inventory", "scheduling", "notifications", "geo", "video",
    "chat", "recommendation", "reporting", "crm", "devops", "testing", "docs", "analytics",
]  # fmt: skip
LANGUAGES = ["python", "rust", "typescript", "go", "java", "kotlin", "ruby", "csharp"]
VERBS = [
    "fix", "add", "refactor", "speed up", "document", "test", "migrate", "debug",
    "remove", "rename", "split", "cache", "validate", "paginate", "retry", "log",
]  # fmt: skip
OBJECTS = [
    "the login handler", "the invoice export", "the search ranking", "the token refresh",
    "the webhook receiver", "the csv importer", "the training loop", "the date picker",
    "the push sender", "the deploy script", "the metrics exporter", "the queue consumer",
    "the blob uploader", "the config parser", "the chart legend", "the password reset",
    "the audit trail", "the stock counter", "the cron planner", "the email digest",
    "the tile server", "the transcoder", "the message thread", "the ranking model",
    "the monthly report", "the contact merge", "the helm chart", "the flaky test",
    "the api reference", "the funnel query", "the rate limiter", "the session store",
]  # fmt: skip
TAGS = [
    "auth", "perf", "regression", "security", "ux", "db", "network", "cache", "async",
    "migration", "flaky", "memory", "concurrency", "i18n", "logging", "billing",
]  # fmt: skip
TOOLS = [
    "pytest", "editor", "grep", "git", "docker", "kubectl", "psql", "curl", "ruff",
    "mypy", "cargo", "npm", "go-test", "profiler", "debugger", "browser", "jq",
    "terraform", "make", "bash", "redis-cli", "http-client", "linter", "formatter",
    "coverage", "bench", "tracer", "log-search", "sql-explain", "schema-diff",
]  # fmt: skip
ACTIONS = [
    "check if the service is up", "read the failing output", "apply the change",
    "run the suite", "verify the fix", "inspect the logs", "when the cache is cold, warm it",
    "compare the results", "validate the input", "write the test",
]  # fmt: skip
SYNONYMS = {
    "fix": "repair", "add": "introduce", "refactor": "restructure", "speed up": "optimise",
    "document": "write docs for", "test": "cover", "migrate": "port", "debug": "investigate",
    "remove": "delete", "rename": "relabel", "split": "break up", "cache": "memoise",
    "validate": "check", "paginate": "page", "retry": "add retries to", "log": "instrument",
}  # fmt: skip
TASK_TYPES = list(TaskType)


@dataclass(frozen=True)
class Family:
    """One kind of task: its template, context and tool sequence."""

    key: int
    verb: str
    obj: str
    domain: str
    language: str
    tags: tuple[str, ...]
    task_type: TaskType
    tools: tuple[str, ...]

    def context(self) -> TaskContext:
        """The family's task context."""
        return TaskContext(domain=self.domain, language=self.language, tags=list(self.tags))


@dataclass(frozen=True)
class Task:
    """One run of a family: description, context, steps and outcome."""

    family: Family
    description: str
    context: TaskContext
    steps: tuple[ExecutionStep, ...]
    outcome: TaskOutcome


class Workload:
    """Seeded tasks and queries over ``families`` task families.

    Args:
        families: How many families exist.
        seed: Random seed (same seed, same tasks).
    """

    def __init__(self, families: int = 1_500, seed: int = 7) -> None:
        rng = random.Random(seed)
        self.families = [
            Family(
                key=i,
                verb=rng.choice(VERBS),
                obj=rng.choice(OBJECTS),
                domain=rng.choice(DOMAINS),
                language=rng.choice(LANGUAGES),
                tags=tuple(sorted(rng.sample(TAGS, 2))),
                task_type=rng.choice(TASK_TYPES),
                tools=tuple(rng.sample(TOOLS, 4)),
            )
            for i in range(families)
        ]
        self._rng = random.Random(seed + 1)
        self._serial = 0

    def task(self) -> Task:
        """The next task run (a family picked at random, with its own identifiers)."""
        rng = self._rng
        family = rng.choice(self.families)
        self._serial += 1
        ident = f"{family.obj.split()[-1]}_{rng.randrange(1000)}"
        description = f"{family.verb.capitalize()} {family.obj} in {family.domain} ({ident})"
        fails = rng.random() < 0.15
        steps = []
        for n, tool in enumerate(family.tools):
            error = fails and n == 1
            result = (
                ExecutionResult.error(f"KeyError: '{ident}' at line {rng.randrange(400)}")
                if error
                else ExecutionResult.success(f"ok {n}")
            )
            steps.append(
                ExecutionStep(
                    tool=tool,
                    action=ACTIONS[(family.key + n) % len(ACTIONS)],
                    parameters={"target": ident},
                    result=result,
                    latency_ms=float(rng.randrange(5, 500)),
                )
            )
        outcome = (
            TaskOutcome.failure("gave up", error_details="still failing")
            if fails and rng.random() < 0.5
            else TaskOutcome.success("done")
        )
        return Task(family, description, family.context(), tuple(steps), outcome)

    def query(self) -> tuple[str, TaskContext]:
        """A fresh query: a paraphrase of some family's task, with its context."""
        rng = self._rng
        family = rng.choice(self.families)
        verb = SYNONYMS[family.verb] if rng.random() < 0.5 else family.verb
        ident = f"{family.obj.split()[-1]}_{rng.randrange(1000, 2000)}"
        text = f"{verb.capitalize()} {family.obj} for {family.domain} service ({ident})"
        return text, family.context()
