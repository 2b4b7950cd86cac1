"""LlamaIndex and the adapter work with the network switched off, and the example runs.

Each check runs in a fresh interpreter whose sockets refuse to connect, so a lazy
download anywhere (tiktoken encodings, NLTK data, a default OpenAI model) fails loudly.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "llamaindex_agent.py"

NO_NETWORK = textwrap.dedent(
    """
    import socket

    def _refuse(*args, **kwargs):
        raise OSError("network access is disabled in this test")

    socket.socket.connect = _refuse
    socket.socket.connect_ex = _refuse
    socket.create_connection = _refuse
    socket.getaddrinfo = _refuse
    """
)


def run_offline(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TIKTOKEN_CACHE_DIR", "NLTK_DATA")}
    return subprocess.run(
        [sys.executable, "-c", NO_NETWORK + textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def test_the_network_guard_works() -> None:
    result = run_offline(
        """
        import urllib.request
        urllib.request.urlopen("http://127.0.0.1:9", timeout=5)
        """
    )
    assert result.returncode != 0
    assert "network access is disabled" in result.stderr


def test_llamaindex_and_the_example_run_without_network(tmp_path: Path) -> None:
    """One interpreter (imports are slow): tokenizer and NLTK data, then the example."""
    example = str(EXAMPLE)
    result = run_offline(
        f"""
        import runpy, sys

        from llama_index.core import Settings
        from llama_index.core.node_parser import SentenceSplitter

        assert len(Settings.tokenizer("memory for agents")) > 0
        chunks = SentenceSplitter(chunk_size=32, chunk_overlap=0).split_text(
            "One sentence here. Another sentence there. " * 20
        )
        assert len(chunks) > 1
        print("tokenizer and NLTK data ok")

        sys.argv = [{example!r}, *sys.argv[1:]]
        runpy.run_path({example!r}, run_name="__main__")
        """,
        "--db",
        str(tmp_path / "example.db"),
    )
    assert result.returncode == 0, result.stderr
    assert "tokenizer and NLTK data ok" in result.stdout
    assert "recorded: 'Fix the failing login test'" in result.stdout
    assert "the agent recalled:" in result.stdout
