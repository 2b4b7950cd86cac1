"""LlamaIndex integration for memory-core."""

__all__: list[str] = []
