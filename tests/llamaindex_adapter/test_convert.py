"""The defensive conversions from LlamaIndex objects (token usage, texts, limits)."""

from __future__ import annotations

from types import SimpleNamespace

from llama_index.core.base.llms.types import ChatMessage, ChatResponse, CompletionResponse
from llama_index.core.base.response.schema import Response
from llama_index.core.tools.types import ToolOutput

from memory_core import TokenUsage, clip_bytes
from memory_core_llamaindex._convert import (
    json_safe,
    result_text,
    span_name,
    tool_output_result,
    usage_from_response,
)

MSG = ChatMessage(role="assistant", content="hi")


def test_usage_from_additional_kwargs() -> None:
    response = ChatResponse(
        message=MSG, additional_kwargs={"prompt_tokens": 7, "completion_tokens": 3}
    )
    assert usage_from_response(response) == TokenUsage(
        input_tokens=7, output_tokens=3, total_tokens=10, llm_calls=1
    )


def test_usage_from_a_raw_provider_object() -> None:
    raw = SimpleNamespace(usage=SimpleNamespace(input_tokens=5, output_tokens=2, total_tokens=9))
    assert usage_from_response(ChatResponse(message=MSG, raw=raw)) == TokenUsage(
        input_tokens=5, output_tokens=2, total_tokens=9, llm_calls=1
    )


def test_usage_from_gemini_style_metadata() -> None:
    raw = {"usage_metadata": {"prompt_token_count": 4, "candidates_token_count": 6}}
    usage = usage_from_response(CompletionResponse(text="x", raw=raw))
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (4, 6, 10)


def test_no_usage_reported() -> None:
    assert usage_from_response(ChatResponse(message=MSG, raw={"content": "hi"})) is None
    assert usage_from_response(None) is None


def test_span_names_and_clipping() -> None:
    assert (
        span_name("FunctionAgent.run-0b5c2a1e-8f7d-4c1b-9a3e-2d6f8e9a1b2c") == "FunctionAgent.run"
    )
    assert span_name("no-suffix") == "no-suffix"
    assert clip_bytes("short", 10) == "short"
    clipped = clip_bytes("é" * 100, 40)
    assert len(clipped.encode()) <= 40
    assert clipped.endswith("[truncated]")


def test_tool_outputs_and_results() -> None:
    ok = ToolOutput(content="5", tool_name="add", raw_input={}, raw_output=5)
    assert tool_output_result(ok, 100).output == "5"
    failed = ToolOutput(
        content="bad", tool_name="add", raw_input={}, raw_output=None, is_error=True
    )
    assert tool_output_result(failed, 100).message == "bad"
    assert tool_output_result(None, 100).kind == "error"
    assert result_text(Response(response="answer")) == "answer"
    assert result_text(None) is None
    assert json_safe({"a": (1, 2), "b": object()})["a"] == [1, 2]
