"""A seeded synthetic corpus of agent episodes for retrieval tests and benchmarks.

Episodes belong to known *task families* (JWT refresh, CSV import, flaky tests, ...). Each
family has four phrasings of its task: stored episodes use the first three, and the fourth
is held out as a query ("a paraphrase never stored"). ``UNKNOWN_FAMILIES`` are never stored
and serve as queries that should find nothing relevant. Everything is deterministic for a
given seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from memory_core import (
    ComplexityLevel,
    Episode,
    ExecutionResult,
    ExecutionStep,
    Reflection,
    RewardScore,
    TaskContext,
    TaskOutcome,
    TaskType,
)

__all__ = [
    "FAMILIES",
    "NOW",
    "UNKNOWN_FAMILIES",
    "Family",
    "Query",
    "generate_corpus",
    "held_out_queries",
    "make_episode",
    "unknown_queries",
]

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
"""Reference "now" of the corpus: episodes end within the 90 days before it."""

HELD_OUT = 3
"""Index of the phrasing never stored."""


@dataclass(frozen=True)
class Family:
    """A kind of task: its context, phrasings (index 3 is held out), tools and actions."""

    key: str
    domain: str
    language: str | None
    framework: str | None
    tags: tuple[str, ...]
    task_type: TaskType
    phrasings: tuple[str, str, str, str]
    tools: tuple[str, ...]
    actions: tuple[str, ...]
    failure: str

    def context(self, complexity: ComplexityLevel = ComplexityLevel.MODERATE) -> TaskContext:
        """The family's context."""
        return TaskContext(
            domain=self.domain,
            language=self.language,
            framework=self.framework,
            complexity=complexity,
            tags=list(self.tags),
        )


def _f(
    key: str,
    domain: str,
    language: str | None,
    framework: str | None,
    tags: str,
    task_type: TaskType,
    phrasings: tuple[str, str, str, str],
    tools: str,
    actions: tuple[str, ...],
    failure: str,
) -> Family:
    return Family(
        key,
        domain,
        language,
        framework,
        tuple(tags.split()),
        task_type,
        phrasings,
        tuple(tools.split()),
        actions,
        failure,
    )


T = TaskType
FAMILIES: tuple[Family, ...] = (
    _f(
        "jwt_refresh",
        "web-api",
        "python",
        "fastapi",
        "auth jwt",
        T.CODE_GENERATION,
        (
            "JWT refresh token rotation in the auth service",
            "rotation of expired refresh tokens for JWT sessions",
            "the token refresh flow so JWTs rotate on expiry",
            "automatic JWT renewal using refresh tokens",
        ),
        "editor pytest jwt_decode",
        (
            "decode the JWT claims",
            "rotate the refresh token",
            "add expiry check to token_service.refresh",
        ),
        "refresh token reuse was not detected",
    ),
    _f(
        "csv_import",
        "data-pipeline",
        "python",
        "pandas",
        "csv etl",
        T.CODE_GENERATION,
        (
            "bulk import of CSV files into the warehouse",
            "loading large CSV exports into staging tables",
            "a CSV ingestion job with schema checks",
            "ingest CSV spreadsheets into warehouse tables in bulk",
        ),
        "pandas.read_csv psql editor",
        ("read the CSV in chunks", "copy rows into the staging table", "validate CSV column types"),
        "CSV header did not match the table schema",
    ),
    _f(
        "flaky_test",
        "testing",
        "python",
        "pytest",
        "flaky ci",
        T.DEBUGGING,
        (
            "the flaky integration test caused by a race condition",
            "intermittent integration test failures on CI",
            "a nondeterministic test that fails randomly because of timing",
            "a flaky CI test that passes locally but fails intermittently",
        ),
        "pytest git_bisect editor",
        (
            "rerun the flaky test 50 times",
            "add a lock around the shared fixture",
            "replace sleep with an event wait",
        ),
        "could not reproduce the flaky failure",
    ),
    _f(
        "react_form",
        "frontend",
        "typescript",
        "react",
        "forms validation",
        T.CODE_GENERATION,
        (
            "signup form validation in React",
            "client side validation for the React registration form",
            "inline error messages on the signup form fields",
            "validating React signup form inputs with error messages",
        ),
        "npm editor jest",
        (
            "add a zod schema for the form",
            "show inline field errors",
            "test the signupForm component",
        ),
        "validation fired on every keystroke",
    ),
    _f(
        "docker_build",
        "devops",
        None,
        "docker",
        "docker ci",
        T.REFACTORING,
        (
            "the slow Docker image build by ordering cache layers",
            "Dockerfile layer caching so builds stop reinstalling dependencies",
            "a multi-stage Dockerfile to shrink the image and speed builds",
            "faster Docker builds with better layer cache reuse",
        ),
        "docker editor",
        (
            "reorder COPY and RUN in the Dockerfile",
            "add a multi-stage build",
            "measure docker build time",
        ),
        "cache was invalidated by the COPY of the whole repo",
    ),
    _f(
        "sql_index",
        "database",
        "sql",
        "postgresql",
        "performance sql",
        T.DEBUGGING,
        (
            "a slow SQL query on the orders table missing an index",
            "a sequential scan on orders that needs a composite index",
            "query latency on the orders report using EXPLAIN ANALYZE",
            "a slow orders query by adding the right SQL index",
        ),
        "psql explain_analyze editor",
        (
            "run EXPLAIN ANALYZE on the orders query",
            "create an index on orders customer_id and created_at",
            "compare query plans",
        ),
        "the planner still chose a sequential scan",
    ),
    _f(
        "k8s_deploy",
        "devops",
        None,
        "kubernetes",
        "kubernetes deploy",
        T.DEBUGGING,
        (
            "a Kubernetes rolling update stuck on the readiness probe",
            "pods failing readiness checks during deployment rollout",
            "the deployment rollout that never becomes ready in the cluster",
            "a stuck Kubernetes rollout whose readiness probes keep failing",
        ),
        "kubectl helm editor",
        (
            "kubectl describe the failing pods",
            "fix the readinessProbe path",
            "helm upgrade the release",
        ),
        "the probe timeout was shorter than the app startup",
    ),
    _f(
        "rate_limit",
        "web-api",
        "go",
        "gin",
        "api throttling",
        T.CODE_GENERATION,
        (
            "rate limiting middleware for the REST API",
            "a token bucket throttle on public API endpoints",
            "per client request quotas returning HTTP 429",
            "throttling API requests per client with a rate limiter",
        ),
        "go_test editor redis-cli",
        (
            "implement a token bucket limiter",
            "return 429 Too Many Requests",
            "store counters in redis",
        ),
        "limits were not shared across replicas",
    ),
    _f(
        "memory_leak",
        "backend",
        "rust",
        "tokio",
        "memory performance",
        T.DEBUGGING,
        (
            "a memory leak in the image thumbnail worker",
            "the thumbnail service whose memory usage grows until it is OOM killed",
            "unbounded memory growth while resizing images",
            "the image resize worker leaking memory over time",
        ),
        "heaptrack cargo editor",
        (
            "profile heap allocations with heaptrack",
            "drop the decoded image buffers",
            "bound the resize channel",
        ),
        "the leak was in a native library",
    ),
    _f(
        "pagination",
        "web-api",
        "python",
        "django",
        "api pagination",
        T.CODE_GENERATION,
        (
            "cursor based pagination for the list endpoints",
            "replacing offset pagination with opaque cursors",
            "paginated API responses with next page cursors",
            "keyset pagination with cursors for listing endpoints",
        ),
        "editor pytest",
        (
            "encode the cursor as base64",
            "add next_cursor to the response",
            "test paging through 1000 items",
        ),
        "cursor ordering was not stable",
    ),
    _f(
        "s3_upload",
        "cloud",
        "python",
        "boto3",
        "aws storage",
        T.CODE_GENERATION,
        (
            "multipart upload of large files to S3",
            "uploading multi gigabyte files to an S3 bucket in parts",
            "resumable chunked uploads to AWS S3",
            "large file uploads to S3 using the multipart API",
        ),
        "boto3 aws_cli editor",
        (
            "create_multipart_upload for the file",
            "upload parts in parallel",
            "complete the multipart upload",
        ),
        "parts smaller than 5 MB were rejected",
    ),
    _f(
        "webhook_retry",
        "backend",
        "python",
        "celery",
        "webhooks retry",
        T.CODE_GENERATION,
        (
            "retries with exponential backoff for failed webhook deliveries",
            "redelivering webhooks that time out with increasing delays",
            "a retry queue for webhook calls that fail",
            "exponential backoff when webhook delivery fails",
        ),
        "celery editor pytest",
        (
            "add autoretry_for to the deliver_webhook task",
            "compute backoff with jitter",
            "log each failed delivery",
        ),
        "retries hammered the receiving server",
    ),
    _f(
        "i18n",
        "frontend",
        "typescript",
        "vue",
        "i18n localization",
        T.CODE_GENERATION,
        (
            "translations of UI strings with i18n locale files",
            "localizing the Vue app into German and Japanese",
            "extracting hardcoded labels into locale message files",
            "internationalization of interface text with locale bundles",
        ),
        "npm editor vue-i18n",
        ("extract strings to locales/en.json", "add the German locale", "switch locale at runtime"),
        "pluralization rules broke for Japanese",
    ),
    _f(
        "graphql_n1",
        "web-api",
        "typescript",
        "apollo",
        "graphql performance",
        T.DEBUGGING,
        (
            "N+1 queries in the GraphQL resolvers",
            "batching GraphQL field resolvers with DataLoader",
            "too many database calls per GraphQL request",
            "GraphQL resolver performance by batching with DataLoader",
        ),
        "apollo editor jest",
        (
            "log SQL per resolver",
            "wrap the author resolver in a DataLoader",
            "test the batched resolver",
        ),
        "DataLoader cache leaked across requests",
    ),
    _f(
        "ci_cache",
        "devops",
        "yaml",
        "github-actions",
        "ci caching",
        T.REFACTORING,
        (
            "caching of pip dependencies in the GitHub Actions workflow",
            "slow CI runs that reinstall packages every time",
            "the actions cache step keyed on the requirements lockfile",
            "faster GitHub Actions pipelines by caching dependencies",
        ),
        "gh editor",
        (
            "add actions/cache keyed on requirements.txt",
            "restore the pip cache",
            "compare workflow durations",
        ),
        "cache key never matched",
    ),
    _f(
        "model_train",
        "ml",
        "python",
        "pytorch",
        "training nlp",
        T.ANALYSIS,
        (
            "fine tuning of the sentiment classifier learning rate",
            "a sentiment model whose validation loss diverges during fine tuning",
            "hyperparameter search for the text classifier optimizer",
            "tuning the learning rate schedule of the sentiment classifier",
        ),
        "python torch tensorboard",
        ("sweep learning rates with warmup", "plot validation loss", "enable gradient clipping"),
        "loss became NaN after warmup",
    ),
    _f(
        "log_parse",
        "data-pipeline",
        "python",
        None,
        "logs parsing",
        T.ANALYSIS,
        (
            "parsing nginx access logs to count status codes",
            "extracting HTTP status and latency from web server logs",
            "a report of 5xx errors from the nginx log files",
            "analysing nginx access log lines for error rates",
        ),
        "python grep editor",
        (
            "write a regex for the nginx log format",
            "aggregate status codes",
            "plot errors per hour",
        ),
        "log format changed mid file",
    ),
    _f(
        "websocket",
        "frontend",
        "typescript",
        None,
        "realtime websocket",
        T.DEBUGGING,
        (
            "websocket reconnects and heartbeats in the chat client",
            "the chat connection that drops and never reconnects",
            "keepalive pings for the realtime chat socket",
            "a chat client websocket that silently disconnects",
        ),
        "browser_devtools editor npm",
        (
            "add a ping pong heartbeat",
            "reconnect with backoff",
            "resubscribe to channels after reconnect",
        ),
        "proxy closed idle connections after 60 seconds",
    ),
    _f(
        "schema_migration",
        "database",
        "python",
        "alembic",
        "migrations schema",
        T.CODE_GENERATION,
        (
            "an Alembic migration that adds a non null column",
            "a database schema change adding a column with a default",
            "migrating the users table to a new column without downtime",
            "writing a zero downtime Alembic schema migration",
        ),
        "alembic psql editor",
        (
            "alembic revision --autogenerate",
            "backfill the new column",
            "set NOT NULL after the backfill",
        ),
        "the migration locked the table for minutes",
    ),
    _f(
        "cli_args",
        "cli-tools",
        "python",
        "click",
        "cli",
        T.CODE_GENERATION,
        (
            "command line argument parsing with subcommands",
            "a click based CLI with nested subcommands and options",
            "adding flags and subcommands to the command line tool",
            "subcommand and option handling for the CLI entry point",
        ),
        "editor pytest",
        ("define a click group", "add the --verbose option", "test with CliRunner"),
        "option names clashed between subcommands",
    ),
    _f(
        "dark_mode",
        "frontend",
        "css",
        None,
        "theming ui",
        T.CODE_GENERATION,
        (
            "a dark mode theme toggle using CSS variables",
            "switching the site between light and dark color schemes",
            "a theme switcher that respects prefers-color-scheme",
            "dark and light themes with a toggle and CSS custom properties",
        ),
        "editor browser_devtools",
        (
            "define color tokens as CSS variables",
            "add the theme toggle button",
            "persist the theme choice",
        ),
        "flash of the wrong theme on load",
    ),
    _f(
        "oauth_google",
        "security",
        "python",
        "flask",
        "auth oauth",
        T.CODE_GENERATION,
        (
            "OAuth2 sign in with Google as the identity provider",
            "the Google OAuth callback that exchanges the authorization code",
            "social login through Google using OAuth2 and OpenID Connect",
            "Google OAuth2 login with the authorization code flow",
        ),
        "editor pytest requests",
        (
            "register the OAuth client",
            "handle the /callback redirect",
            "verify the id_token signature",
        ),
        "redirect URI mismatch",
    ),
    _f(
        "redis_cache",
        "backend",
        "python",
        "redis",
        "caching performance",
        T.CODE_GENERATION,
        (
            "caching of expensive API responses in Redis with a TTL",
            "a Redis cache in front of the slow pricing endpoint",
            "memoizing remote service calls in Redis with expiry",
            "response caching with Redis keys that expire",
        ),
        "redis-cli editor pytest",
        (
            "add a cache decorator with ttl",
            "invalidate keys on update",
            "measure the cache hit ratio",
        ),
        "stale prices were served after updates",
    ),
    _f(
        "pdf_invoice",
        "backend",
        "python",
        "reportlab",
        "reports pdf",
        T.CODE_GENERATION,
        (
            "monthly PDF invoices for every customer",
            "rendering invoice documents as PDF files each month",
            "a batch job producing customer invoice PDFs",
            "generating PDF invoices in a monthly batch",
        ),
        "python editor",
        (
            "lay out the invoice table with reportlab",
            "embed the company logo",
            "email the PDF to the customer",
        ),
        "fonts were missing on the server",
    ),
    _f(
        "password_reset_email",
        "backend",
        "python",
        "jinja2",
        "email templates",
        T.CODE_GENERATION,
        (
            "HTML email templates for password reset",
            "the password reset message rendered with Jinja templates",
            "a branded reset password email with a signed link",
            "password reset emails built from HTML templates",
        ),
        "editor mailhog",
        (
            "write the reset_password.html template",
            "sign the reset link",
            "preview the email in mailhog",
        ),
        "links expired before users clicked them",
    ),
    _f(
        "elasticsearch",
        "search",
        "java",
        "elasticsearch",
        "search relevance",
        T.CODE_GENERATION,
        (
            "full text search with Elasticsearch analyzers",
            "custom analyzers and mappings for product search in Elasticsearch",
            "fuzzy matching and stemming for the product search index",
            "Elasticsearch product search with better analyzers",
        ),
        "curl editor gradle",
        ("define the index mapping", "add a stemming analyzer", "reindex the products"),
        "reindexing took the cluster down",
    ),
    _f(
        "unicode_decode",
        "cli-tools",
        "python",
        None,
        "encoding bugs",
        T.DEBUGGING,
        (
            "a UnicodeDecodeError when reading UTF-8 files",
            "the importer crashing on files with non ASCII characters",
            "mojibake and decode errors when opening text files",
            "files with accented characters failing to decode as UTF-8",
        ),
        "python editor file",
        (
            "detect the encoding with chardet",
            "open files with encoding utf-8",
            "add a test with accented names",
        ),
        "some files were actually Latin-1",
    ),
    _f(
        "timezone_dst",
        "backend",
        "python",
        None,
        "datetime bugs",
        T.DEBUGGING,
        (
            "a timezone conversion bug around daylight saving time",
            "timestamps shifted by an hour after the DST change",
            "naive datetimes mixed with aware ones in scheduling",
            "daylight saving transitions breaking timezone conversion",
        ),
        "python pytest editor",
        ("use zoneinfo for conversions", "store timestamps in UTC", "test the DST boundary"),
        "the database column had no timezone",
    ),
    _f(
        "push_notifications",
        "mobile",
        "kotlin",
        "firebase",
        "mobile notifications",
        T.CODE_GENERATION,
        (
            "push notifications for Android and iOS through Firebase",
            "sending mobile notifications with Firebase Cloud Messaging",
            "device token registration for FCM push messages",
            "Firebase push notification delivery to mobile devices",
        ),
        "gradle firebase_cli editor",
        ("register the FCM device token", "send a test notification", "handle notification taps"),
        "tokens were not refreshed after reinstall",
    ),
    _f(
        "cpu_profile",
        "performance",
        "rust",
        None,
        "profiling performance",
        T.ANALYSIS,
        (
            "profiling CPU hot spots with a flamegraph",
            "finding where the parser burns CPU using perf",
            "a flamegraph of the slow request path to spot hot functions",
            "CPU profiling with perf and flamegraphs to find hot paths",
        ),
        "perf cargo flamegraph",
        ("record with perf record -g", "render the flamegraph", "optimize the hottest function"),
        "symbols were missing in release builds",
    ),
)
"""Task families that have stored episodes."""

UNKNOWN_FAMILIES: tuple[Family, ...] = (
    _f(
        "vpn",
        "networking",
        None,
        "wireguard",
        "vpn network",
        T.OTHER,
        (
            "a WireGuard VPN tunnel between two office networks",
            "site to site VPN connectivity for the branch office",
            "encrypted tunnels linking the two office LANs",
            "WireGuard peers for the branch office VPN",
        ),
        "wg ip",
        ("generate WireGuard keys",),
        "handshake failed",
    ),
    _f(
        "newsletter",
        "marketing",
        None,
        None,
        "copywriting",
        T.DOCUMENTATION,
        (
            "a marketing newsletter about the spring sale",
            "the spring promotion announcement mailed to subscribers",
            "copy for the seasonal discount newsletter campaign",
            "a subscriber newsletter announcing spring discounts",
        ),
        "docs",
        ("draft the newsletter",),
        "too long",
    ),
    _f(
        "terrain",
        "gamedev",
        "csharp",
        "unity",
        "graphics",
        T.CODE_GENERATION,
        (
            "procedural 3D terrain with noise shaders in Unity",
            "heightmap generation from Perlin noise for the game world",
            "rendering mountains and valleys procedurally on the GPU",
            "Unity terrain meshes generated from layered noise",
        ),
        "unity",
        ("sample perlin noise",),
        "seams between chunks",
    ),
    _f(
        "nft_auction",
        "blockchain",
        "solidity",
        None,
        "ethereum",
        T.CODE_GENERATION,
        (
            "a smart contract for an NFT auction on Ethereum",
            "a Solidity auction with bids and settlement for tokens",
            "on chain English auction for collectible tokens",
            "bidding logic in a Solidity NFT marketplace contract",
        ),
        "hardhat",
        ("write the bid function",),
        "reentrancy",
    ),
    _f(
        "barcode",
        "hardware",
        None,
        None,
        "firmware",
        T.OTHER,
        (
            "calibrating barcode scanner firmware on warehouse handhelds",
            "handheld scanners misreading labels in the warehouse",
            "scanner firmware settings for damaged shipping labels",
            "warehouse handheld barcode readers needing recalibration",
        ),
        "vendor_tool",
        ("flash the firmware",),
        "unsupported model",
    ),
    _f(
        "slack_bot",
        "chatops",
        "javascript",
        "bolt",
        "bot",
        T.CODE_GENERATION,
        (
            "a Slack bot that posts standup reminders",
            "daily standup prompts posted to the team channel",
            "a chat bot scheduling morning standup messages",
            "automated standup reminder messages in Slack",
        ),
        "node",
        ("register the slash command",),
        "missing scope",
    ),
    _f(
        "audio_codec",
        "media",
        "c",
        None,
        "audio",
        T.ANALYSIS,
        (
            "bitrate tuning of the audio codec for voice calls",
            "choppy voice call audio at low bandwidth",
            "Opus encoder settings for clearer speech",
            "voice quality versus bitrate tradeoffs in the call codec",
        ),
        "ffmpeg",
        ("encode samples at several bitrates",),
        "packet loss",
    ),
    _f(
        "legal_translation",
        "legal",
        None,
        None,
        "translation",
        T.DOCUMENTATION,
        (
            "translating the legal contract from German to French",
            "a French version of the German supplier agreement",
            "contract clauses rendered into French by a translator",
            "French translation of the German legal agreement",
        ),
        "docs",
        ("translate the clauses",),
        "ambiguous terms",
    ),
    _f(
        "mailbox_migration",
        "it-admin",
        None,
        None,
        "email exchange",
        T.OTHER,
        (
            "moving on premise Exchange mailboxes to Microsoft 365",
            "a cutover of company mail from Exchange servers to the cloud",
            "mailbox transfers to Office 365 for all staff",
            "Exchange to Microsoft 365 mailbox moves",
        ),
        "powershell",
        ("run the move request",),
        "throttled",
    ),
    _f(
        "library_er",
        "education",
        None,
        None,
        "modeling",
        T.ANALYSIS,
        (
            "an entity relationship diagram for a school library",
            "modeling books, loans and members of a library as entities",
            "the conceptual data model for lending library books",
            "library lending entities and relationships drawn as a diagram",
        ),
        "drawio",
        ("draw the entities",),
        "unclear cardinality",
    ),
)
"""Task families never stored: queries about them should find nothing relevant."""

_VERBS = {
    T.CODE_GENERATION: ("Implement", "Add", "Build", "Create", "Set up"),
    T.DEBUGGING: ("Fix", "Investigate", "Debug", "Track down", "Resolve"),
    T.REFACTORING: ("Improve", "Rework", "Refactor", "Speed up", "Clean up"),
    T.TESTING: ("Test", "Cover", "Verify", "Check", "Validate"),
    T.ANALYSIS: ("Analyse", "Study", "Look into", "Evaluate", "Measure"),
    T.DOCUMENTATION: ("Write", "Draft", "Document", "Prepare", "Produce"),
    T.OTHER: ("Handle", "Do", "Take care of", "Work on", "Sort out"),
}
_QUALIFIERS = (
    "",
    "",
    " before the release",
    " for the customer portal",
    " in production",
    " on the staging server",
    " as requested in the ticket",
    " for the new team",
)
_PREFIXES = [
    "billing",
    "account",
    "order",
    "invoice",
    "user",
    "session",
    "payment",
    "catalog",
    "report",
    "shipment",
    "inventory",
    "profile",
    "audit",
    "export",
    "notify",
    "search",
    "upload",
    "schedule",
    "metrics",
    "config",
    "gateway",
]
_SUFFIXES = [
    "service",
    "handler",
    "worker",
    "client",
    "manager",
    "module",
    "store",
    "api",
    "job",
    "view",
]


def _module(rng: random.Random) -> str:
    prefix, suffix = rng.choice(_PREFIXES), rng.choice(_SUFFIXES)
    return rng.choice(
        (f"{prefix}_{suffix}", f"{prefix}{suffix.capitalize()}", f"{prefix}.{suffix}")
    )


def describe(family: Family, phrasing: int, rng: random.Random) -> str:
    """A task description of the family in the given phrasing (random verb and qualifier)."""
    verb = rng.choice(_VERBS[family.task_type])
    return f"{verb} {family.phrasings[phrasing]}{rng.choice(_QUALIFIERS)}"


def _reward(total: float) -> RewardScore:
    return RewardScore(
        total=total,
        base=min(total, 1.0),
        efficiency=1.0,
        complexity_bonus=1.0,
        quality_multiplier=1.0,
        learning_bonus=0.0,
        raw_reward=total,
        normalized_reward=total,
        decayed_reward=total,
        effective_reward=total,
    )


def make_episode(
    family: Family,
    rng: random.Random,
    *,
    phrasing: int | None = None,
    description: str | None = None,
    end_time: datetime | None = None,
    success: bool | None = None,
    with_module: bool = True,
) -> Episode:
    """One completed episode of a family (steps, outcome, reward, reflection)."""
    if description is None:
        text = describe(family, rng.randrange(HELD_OUT) if phrasing is None else phrasing, rng)
        if with_module and rng.random() < 0.5:
            text += f" ({_module(rng)})"
    else:
        text = description
    ok = rng.random() < 0.8 if success is None else success
    end = end_time or NOW - timedelta(seconds=rng.uniform(0, 90 * 86_400))
    start = end - timedelta(seconds=rng.uniform(5, 600))
    steps = []
    for number, action in enumerate(family.actions, start=1):
        failed = not ok and number == len(family.actions)
        steps.append(
            ExecutionStep(
                step_number=number,
                timestamp=start + timedelta(seconds=number),
                tool=family.tools[(number - 1) % len(family.tools)],
                action=action,
                result=ExecutionResult.error(family.failure)
                if failed
                else ExecutionResult.success("ok"),
            )
        )
    outcome = (
        TaskOutcome.success("done")
        if ok
        else TaskOutcome.failure(family.failure, error_details=family.failure)
    )
    complexity = rng.choice(list(ComplexityLevel))
    return Episode(
        task_type=family.task_type,
        task_description=text,
        context=family.context(complexity),
        start_time=start,
        end_time=end,
        steps=steps,
        outcome=outcome,
        reward=_reward(rng.uniform(1.0, 1.8) if ok else rng.uniform(0.0, 0.3)),
        reflection=Reflection(
            successes=[f"Used {family.tools[0]} effectively"] if ok else [],
            improvements=[] if ok else [f"Handle the case: {family.failure}"],
            insights=[f"{len(steps)} steps with {len(set(family.tools))} tools"],
        ),
    )


def generate_corpus(
    size: int, seed: int = 0, families: tuple[Family, ...] = FAMILIES
) -> list[Episode]:
    """``size`` episodes spread round-robin over the families (stored phrasings only)."""
    rng = random.Random(seed)
    return [make_episode(families[i % len(families)], rng) for i in range(size)]


@dataclass(frozen=True)
class Query:
    """A test query and the family it belongs to."""

    description: str
    context: TaskContext
    family: str


def held_out_queries(seed: int = 1, per_family: int = 3) -> list[Query]:
    """Queries in the held-out phrasing of every stored family (no context)."""
    rng = random.Random(seed)
    return [
        Query(describe(family, HELD_OUT, rng), TaskContext(), family.key)
        for family in FAMILIES
        for _ in range(per_family)
    ]


def unknown_queries(seed: int = 2) -> list[Query]:
    """Queries in every phrasing of the never-stored families, with their own context."""
    rng = random.Random(seed)
    return [
        Query(describe(family, phrasing, rng), family.context(), family.key)
        for family in UNKNOWN_FAMILIES
        for phrasing in range(4)
    ]
