"""Developer sessions: ``nox`` runs lint, typecheck and tests; ``nox -s bench`` / ``demo`` too."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True

PACKAGES = [
    "-e",
    "packages/core[postgresql,ui,mcp]",
    "-e",
    "packages/langchain_adapter[agents]",
    "-e",
    "packages/llamaindex_adapter",
]


@nox.session
def tests(session: nox.Session) -> None:
    """Run the whole test suite with all three packages installed."""
    session.install("-r", "requirements-dev.txt")
    session.run("pytest", *session.posargs)


@nox.session
def tests_core_only(session: nox.Session) -> None:
    """Prove the core installs and passes without LangChain or LlamaIndex."""
    session.install(
        "-e",
        "packages/core[postgresql]",
        "pytest",
        "pytest-asyncio",
        "hypothesis",
        "pgserver",  # a private PostgreSQL server for the PostgreSQL variants
        "hatchling",  # the plugin tests pip-install the example plugin without isolation
        "editables",
    )
    session.run("pytest", "tests/core", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff format check and lint."""
    session.install("ruff")
    session.run("ruff", "format", "--check", ".")
    session.run("ruff", "check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the three packages."""
    session.install(*PACKAGES, "mypy", "types-cachetools", "pytest")
    session.run("mypy")


@nox.session
def bench(session: nox.Session) -> None:
    """Run every benchmark script and print its table (pass --quick for a smoke run)."""
    session.install(*PACKAGES)
    for script in sorted(__import__("glob").glob("benchmarks/[!_]*.py")):
        session.run("python", script, *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """Install the core and run the demo on the embedded SQLite default."""
    session.install("-e", "packages/core")
    session.run("python", "-m", "memory_core", "demo", *session.posargs)
