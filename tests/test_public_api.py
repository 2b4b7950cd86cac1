"""The public surface: `__all__` matches the exports, everything public is documented, and
the core never depends on an agent framework."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import memory_core

ROOT = Path(__file__).resolve().parents[1]
CORE_SRC = ROOT / "packages" / "core" / "src"
FRAMEWORKS = ("langchain", "langchain_core", "langgraph", "llama_index")
ADAPTERS = ("memory_core_langchain", "memory_core_llamaindex")


def _public_modules() -> list[ModuleType]:
    modules = [memory_core]
    for info in pkgutil.walk_packages(memory_core.__path__, "memory_core."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        modules.append(importlib.import_module(info.name))
    return modules


def _own_doc(obj: object) -> str | None:
    if inspect.isclass(obj):
        return obj.__dict__.get("__doc__")
    return getattr(obj, "__doc__", None)


def test_all_lists_exactly_the_public_names() -> None:
    exported = memory_core.__all__
    assert len(exported) == len(set(exported)), "duplicates in memory_core.__all__"
    missing = [name for name in exported if not hasattr(memory_core, name)]
    assert missing == [], f"__all__ names that do not exist: {missing}"
    public = {
        name
        for name, value in vars(memory_core).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }
    assert public - set(exported) == set(), "public names missing from __all__"
    assert set(exported) - public <= {"__version__"}


def test_the_seed_api_is_exported() -> None:
    for name in (
        "SelfLearningMemory",
        "SyncSelfLearningMemory",
        "MemoryConfig",
        "TaskContext",
        "TaskType",
        "ComplexityLevel",
        "ExecutionStep",
        "ExecutionResult",
        "TaskOutcome",
        "Episode",
        "RewardScore",
        "Reflection",
        "Pattern",
        "ToolSequence",
        "DecisionPoint",
        "ErrorRecovery",
        "ContextPattern",
        "PatternEffectiveness",
        "MemoryCoreError",
        "EpisodeNotFoundError",
        "EpisodeAlreadyCompletedError",
        "InvalidInputError",
        "StorageError",
        "ConfigurationError",
    ):
        assert name in memory_core.__all__, name


def test_every_public_module_declares_all() -> None:
    for module in _public_modules():
        names = getattr(module, "__all__", None)
        assert isinstance(names, list | tuple), f"{module.__name__} has no __all__"
        for name in names:
            assert hasattr(module, name), f"{module.__name__}.__all__ lists missing {name!r}"


def test_every_public_class_and_function_is_documented() -> None:
    undocumented: list[str] = []
    for module in _public_modules():
        if not (module.__doc__ or "").strip():
            undocumented.append(module.__name__)
        for name in module.__all__:
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            if not (_own_doc(obj) or "").strip():
                undocumented.append(f"{module.__name__}.{name}")
            if not inspect.isclass(obj) or not obj.__module__.startswith("memory_core"):
                continue
            for attr, member in vars(obj).items():
                if attr.startswith("_"):
                    continue
                func = member.fget if isinstance(member, property) else member
                func = getattr(func, "__func__", func)  # classmethod / staticmethod
                if inspect.isfunction(func) and not (func.__doc__ or "").strip():
                    undocumented.append(f"{module.__name__}.{name}.{attr}")
    assert sorted(set(undocumented)) == []


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call):  # importlib.import_module("x") / __import__("x")
            name = (
                node.func.attr
                if isinstance(node.func, ast.Attribute)
                else getattr(node.func, "id", "")
            )
            if name in ("import_module", "__import__") and node.args:
                arg = node.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    roots.add(arg.value.split(".")[0])
    return roots


def test_the_core_never_imports_a_framework_or_an_adapter() -> None:
    files = sorted(CORE_SRC.rglob("*.py"))
    assert len(files) > 10
    offenders = {
        str(path.relative_to(ROOT)): sorted(bad)
        for path in files
        if (bad := _imported_roots(path) & {*FRAMEWORKS, *ADAPTERS})
    }
    assert offenders == {}


@pytest.mark.parametrize(
    ("adapter", "forbidden"),
    [
        ("langchain_adapter", ("llama_index", "memory_core_llamaindex")),
        (
            "llamaindex_adapter",
            ("langchain", "langchain_core", "langgraph", "memory_core_langchain"),
        ),
    ],
)
def test_adapters_do_not_import_each_other(adapter: str, forbidden: tuple[str, ...]) -> None:
    src = ROOT / "packages" / adapter / "src"
    for path in sorted(src.rglob("*.py")):
        assert not _imported_roots(path) & set(forbidden), path


def test_importing_the_core_loads_no_framework() -> None:
    code = (
        "import sys, memory_core, memory_core.cli.app\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {FRAMEWORKS + ADAPTERS!r}]\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_version_is_a_string() -> None:
    assert isinstance(memory_core.__version__, str)
    assert memory_core.__version__.count(".") >= 2
