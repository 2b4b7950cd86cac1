"""A seeded task world: task families that need fixed tool sequences, asked in many ways.

Twelve recurring families over four domains (plus twelve rare ones) share tools, words and
tags, so a memory has to tell near neighbours apart. Each family is phrased four ways: the
first three are used throughout the stream, the fourth only in its second half (half of the
later tasks), so a memory also meets phrasings it never stored. 70 % of tasks carry their
family's tag besides a generic one. Families enter the stream one after another (cold
start), and rare families appear a few times only, so some tasks are genuinely new when
asked.

Everything is a pure function of the seed: two runs with the same seed produce the same
tasks, in the same order, and the same agent behaviour.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from memory_core.models import TaskContext, TaskType

__all__ = ["DOMAINS", "Family", "Task", "TaskWorld"]


@dataclass(frozen=True, slots=True)
class _Domain:
    name: str
    language: str
    framework: str
    tools: tuple[str, ...]
    slot: tuple[str, ...]


_SHARED_TOOLS = ("shell", "editor", "grep", "git")

DOMAINS: dict[str, _Domain] = {
    d.name: d
    for d in (
        _Domain(
            "web-api",
            "python",
            "fastapi",
            (
                "pytest",
                "curl",
                "uvicorn",
                "alembic",
                "pip",
                "mypy",
                "ruff",
                "httpie",
                "openapi-gen",
                "psql",
            ),
            ("orders", "billing", "profile", "inventory", "search"),
        ),
        _Domain(
            "data-pipeline",
            "python",
            "airflow",
            (
                "airflow",
                "spark-submit",
                "dbt",
                "pandas-profile",
                "s3cli",
                "psql",
                "great-expectations",
                "kafka-cli",
                "parquet-tools",
                "jupyter",
            ),
            ("sales", "clickstream", "orders", "users", "inventory"),
        ),
        _Domain(
            "infra",
            "hcl",
            "kubernetes",
            (
                "terraform",
                "kubectl",
                "helm",
                "docker",
                "ansible",
                "aws-cli",
                "promtool",
                "vault",
                "ssh",
                "systemctl",
            ),
            ("checkout", "api-gateway", "billing", "search", "payments"),
        ),
        _Domain(
            "frontend",
            "typescript",
            "react",
            (
                "npm",
                "jest",
                "eslint",
                "webpack",
                "playwright",
                "storybook",
                "tsc",
                "prettier",
                "lighthouse",
                "devtools",
            ),
            ("checkout", "profile", "search", "dashboard", "cart"),
        ),
    )
}
"""The world's domains: language, framework, tool pool and the names tasks are about."""


@dataclass(frozen=True, slots=True)
class Family:
    """A kind of task: it always needs the same tool sequence.

    Attributes:
        name: Stable identifier.
        domain: One of `DOMAINS`.
        tag: The family's own tag (on 70 % of its tasks).
        generic_tag: A tag shared with other families (on every task).
        task_type: The task type of its episodes.
        sequence: The tools that solve it, in order.
        phrasings: Description templates (``{x}`` is a name from the domain); the last one
            is held out until the second half of the stream.
        rare: A rare family appears a few times only.
    """

    name: str
    domain: str
    tag: str
    generic_tag: str
    task_type: TaskType
    sequence: tuple[str, ...]
    phrasings: tuple[str, ...]
    rare: bool = False


_D, _G, _O = TaskType.DEBUGGING, TaskType.CODE_GENERATION, TaskType.OTHER

_FAMILIES: tuple[Family, ...] = (
    # web-api
    Family(
        "auth-fix",
        "web-api",
        "auth",
        "bugfix",
        _D,
        ("pytest", "grep", "editor", "pytest"),
        (
            "Fix the failing login test in the {x} service",
            "Login returns 401 for valid users of the {x} service",
            "Repair the broken token check in {x} authentication",
            "Users cannot sign in to {x} after the session change",
        ),
    ),
    Family(
        "pagination",
        "web-api",
        "pagination",
        "feature",
        _G,
        ("editor", "openapi-gen", "pytest", "ruff"),
        (
            "Add pagination to the {x} list endpoint",
            "Implement page and limit parameters for the {x} listing API",
            "The {x} list endpoint should return results in pages",
            "Return {x} records in chunks with a next cursor",
        ),
    ),
    Family(
        "migration",
        "web-api",
        "migrations",
        "schema",
        _G,
        ("alembic", "psql", "pytest", "git"),
        (
            "Write a database migration for the new {x} column",
            "Add an alembic revision for the {x} schema change",
            "Migrate the {x} table to the new schema",
            "The {x} database needs an extra field stored",
        ),
    ),
    # data-pipeline
    Family(
        "dag-fix",
        "data-pipeline",
        "airflow-dag",
        "bugfix",
        _D,
        ("airflow", "grep", "editor", "airflow"),
        (
            "Fix the failing {x} DAG in Airflow",
            "The nightly {x} DAG run crashes at the load task",
            "Repair the broken {x} pipeline schedule",
            "Yesterday's {x} job never finished",
        ),
    ),
    Family(
        "data-quality",
        "data-pipeline",
        "data-quality",
        "feature",
        _G,
        ("great-expectations", "pandas-profile", "editor", "dbt"),
        (
            "Add data quality checks to the {x} table",
            "Validate null rates and value ranges in the {x} table",
            "Write expectations for the {x} dataset columns",
            "Make sure bad rows in {x} are caught early",
        ),
    ),
    Family(
        "backfill",
        "data-pipeline",
        "backfill",
        "ops",
        _O,
        ("s3cli", "spark-submit", "parquet-tools", "psql"),
        (
            "Backfill the {x} table for last month",
            "Reprocess the {x} partitions from the raw bucket",
            "Rebuild missing {x} partitions with Spark",
            "Some days of {x} data are missing downstream",
        ),
    ),
    # infra
    Family(
        "rollback",
        "infra",
        "rollback",
        "ops",
        _O,
        ("kubectl", "helm", "promtool", "git"),
        (
            "Roll back the broken {x} deployment",
            "Revert {x} to the previous Helm release",
            "Undo the failed {x} rollout in Kubernetes",
            "The latest {x} release is crashing, go back",
        ),
    ),
    Family(
        "tf-drift",
        "infra",
        "terraform-drift",
        "bugfix",
        _D,
        ("terraform", "aws-cli", "editor", "terraform"),
        (
            "Fix Terraform drift in the {x} stack",
            "terraform plan shows unexpected changes for the {x} stack",
            "Reconcile the {x} infrastructure with its Terraform state",
            "Cloud resources of {x} differ from what the code declares",
        ),
    ),
    Family(
        "secrets",
        "infra",
        "secrets",
        "ops",
        _O,
        ("vault", "kubectl", "systemctl", "ssh"),
        (
            "Rotate the database password for {x}",
            "Renew the expiring {x} credentials in Vault",
            "Update the {x} secrets after the leak",
            "The {x} service account key must be replaced",
        ),
    ),
    # frontend
    Family(
        "e2e-fix",
        "frontend",
        "e2e-tests",
        "bugfix",
        _D,
        ("playwright", "devtools", "editor", "playwright"),
        (
            "Fix the flaky end-to-end test of the {x} page",
            "The {x} Playwright test times out randomly",
            "Stabilise the failing {x} browser test",
            "CI keeps going red on the {x} UI scenario",
        ),
    ),
    Family(
        "bundle-size",
        "frontend",
        "performance",
        "feature",
        _G,
        ("webpack", "lighthouse", "editor", "npm"),
        (
            "Reduce the bundle size of the {x} page",
            "Split the {x} JavaScript bundle to load faster",
            "The {x} page ships too much JavaScript",
            "Make {x} load quicker on slow phones",
        ),
    ),
    Family(
        "type-errors",
        "frontend",
        "typescript",
        "bugfix",
        _D,
        ("tsc", "eslint", "editor", "prettier"),
        (
            "Fix the TypeScript errors in the {x} component",
            "tsc fails on the {x} props types",
            "Resolve type check failures in the {x} page",
            "The {x} build breaks on typing problems",
        ),
    ),
    # rare families: a few occurrences each
    Family(
        "memory-leak",
        "web-api",
        "memory-leak",
        "bugfix",
        _D,
        ("uvicorn", "shell", "editor", "httpie"),
        (
            "Find the memory leak in the {x} service",
            "The {x} service grows until it is killed",
            "Investigate rising memory use of {x} workers",
            "{x} pods restart because they run out of memory",
        ),
        rare=True,
    ),
    Family(
        "healthcheck",
        "web-api",
        "healthcheck",
        "feature",
        _G,
        ("editor", "curl", "pytest", "git"),
        (
            "Add a health check endpoint to the {x} service",
            "Expose a readiness probe for {x}",
            "The load balancer needs a status route on {x}",
            "Report whether {x} is alive over HTTP",
        ),
        rare=True,
    ),
    Family(
        "dep-upgrade",
        "web-api",
        "dependencies",
        "schema",
        _O,
        ("pip", "mypy", "pytest", "git"),
        (
            "Upgrade the {x} service dependencies",
            "Bump outdated packages of {x} to current releases",
            "Move {x} to the latest library versions",
            "Old libraries in {x} have known vulnerabilities",
        ),
        rare=True,
    ),
    Family(
        "stream-lag",
        "data-pipeline",
        "kafka",
        "ops",
        _O,
        ("kafka-cli", "shell", "editor", "airflow"),
        (
            "Reduce consumer lag on the {x} topic",
            "The {x} stream consumers fall behind",
            "Kafka lag alerts fire for {x} events",
            "Events of {x} arrive hours late",
        ),
        rare=True,
    ),
    Family(
        "notebook",
        "data-pipeline",
        "analysis",
        "feature",
        _G,
        ("jupyter", "pandas-profile", "psql", "git"),
        (
            "Explore the {x} dataset in a notebook",
            "Profile the {x} columns for an analysis",
            "Summarise the {x} data distribution",
            "What does the {x} data look like",
        ),
        rare=True,
    ),
    Family(
        "dbt-model",
        "data-pipeline",
        "dbt",
        "schema",
        _G,
        ("dbt", "psql", "editor", "git"),
        (
            "Add a dbt model for {x} aggregates",
            "Create the {x} summary model in dbt",
            "Build a daily {x} rollup table",
            "Analysts want {x} totals per day",
        ),
        rare=True,
    ),
    Family(
        "autoscale",
        "infra",
        "autoscaling",
        "ops",
        _O,
        ("kubectl", "promtool", "helm", "git"),
        (
            "Set up autoscaling for {x}",
            "Add a horizontal pod autoscaler to {x}",
            "Scale {x} with CPU load automatically",
            "{x} cannot keep up with peak traffic",
        ),
        rare=True,
    ),
    Family(
        "cert-renew",
        "infra",
        "tls",
        "ops",
        _O,
        ("ssh", "shell", "systemctl", "aws-cli"),
        (
            "Renew the TLS certificate of {x}",
            "The {x} HTTPS certificate expires next week",
            "Replace the expired certificate on {x}",
            "Browsers warn about the {x} certificate",
        ),
        rare=True,
    ),
    Family(
        "docker-slim",
        "infra",
        "containers",
        "feature",
        _G,
        ("docker", "shell", "editor", "git"),
        (
            "Shrink the {x} Docker image",
            "Make the {x} container image smaller",
            "Use a multi-stage build for {x}",
            "Pulling the {x} image takes too long",
        ),
        rare=True,
    ),
    Family(
        "dark-mode",
        "frontend",
        "theming",
        "feature",
        _G,
        ("editor", "storybook", "jest", "git"),
        (
            "Add dark mode to the {x} page",
            "Support a dark theme on {x}",
            "Let users switch {x} to dark colours",
            "The {x} page is too bright at night",
        ),
        rare=True,
    ),
    Family(
        "a11y",
        "frontend",
        "accessibility",
        "bugfix",
        _D,
        ("lighthouse", "devtools", "editor", "jest"),
        (
            "Fix accessibility issues on the {x} page",
            "Screen readers cannot use the {x} form",
            "Add missing labels to {x} inputs",
            "The {x} page fails the audit for blind users",
        ),
        rare=True,
    ),
    Family(
        "i18n",
        "frontend",
        "translation",
        "feature",
        _G,
        ("npm", "editor", "jest", "prettier"),
        (
            "Translate the {x} page into German",
            "Add locale files for the {x} page",
            "Make {x} texts translatable",
            "German customers see English on {x}",
        ),
        rare=True,
    ),
)


@dataclass(frozen=True, slots=True)
class Task:
    """One task of the stream.

    Attributes:
        index: Position in the stream (0-based).
        family: The family it belongs to.
        description: The task as the agent is given it.
        context: Domain, language, framework and tags.
        held_out: True when phrased the way no earlier stored task of its family was.
    """

    index: int
    family: Family
    description: str
    context: TaskContext
    held_out: bool

    @property
    def sequence(self) -> tuple[str, ...]:
        """The tools that solve the task, in order."""
        return self.family.sequence

    @property
    def tool_pool(self) -> tuple[str, ...]:
        """Every tool an exploring agent may try for this task."""
        return (*DOMAINS[self.family.domain].tools, *_SHARED_TOOLS)


@dataclass(slots=True)
class TaskWorld:
    """A seeded stream of tasks.

    Args:
        seed: Makes the stream (and nothing else) reproducible.
        tag_rate: Share of tasks that carry their family's tag.
        rare_weight: How often a rare family is drawn compared with a recurring one.
        entry_spacing: Tasks between the entries of two recurring families (cold start).
    """

    seed: int
    tag_rate: float = 0.7
    rare_weight: float = 0.1
    entry_spacing: int = 8
    families: tuple[Family, ...] = field(default=_FAMILIES)

    def tasks(self, count: int) -> list[Task]:
        """The first ``count`` tasks of the stream (deterministic per seed)."""
        rng = random.Random(self.seed)
        recurring = [f for f in self.families if not f.rare]
        rare = [f for f in self.families if f.rare]
        rng.shuffle(recurring)
        entry = {f.name: i * self.entry_spacing for i, f in enumerate(recurring)}
        for f in rare:
            entry[f.name] = rng.randrange(0, max(1, count - count // 10))
        out: list[Task] = []
        for index in range(count):
            active = [f for f in self.families if entry[f.name] <= index]
            weights = [self.rare_weight if f.rare else 1.0 for f in active]
            family = rng.choices(active, weights)[0]
            late = index >= count // 2
            held_out = late and rng.random() < 0.5
            template = family.phrasings[-1] if held_out else rng.choice(family.phrasings[:-1])
            name = rng.choice(DOMAINS[family.domain].slot)
            domain = DOMAINS[family.domain]
            tags = (
                [family.tag, family.generic_tag]
                if rng.random() < self.tag_rate
                else [family.generic_tag]
            )
            context = TaskContext(
                domain=domain.name,
                language=domain.language,
                framework=domain.framework,
                tags=tags,
            )
            description = template.format(x=name)
            out.append(
                Task(index, family, description[0].upper() + description[1:], context, held_out)
            )
        return out
