"""`EngineBuilderLLMChainlet` and `EngineBuilderLLMInput`, the request it takes.

Part of the vendored runtime (`runtime_lib`, imported as `chainsc_runtime` in generated
packages). An engine-builder Chainlet is a TensorRT-LLM engine Baseten builds and serves;
its `run_remote(llm_input: EngineBuilderLLMInput) -> AsyncIterator[str]` is Truss's, and
a Chainlet that depends on one calls it through `engine_client.EngineBuilderLLMClient`.
The request mirrors OpenAI's chat and completion parameters (`messages` or `prompt`,
`max_tokens`, `temperature`, `tools`, `response_format`, `stream`, ...), with the same
fields, aliases and defaults as `truss_chains.EngineBuilderLLMInput` (truss 0.18.36), so a
chain builds the same request under both. Imports pydantic and `.definitions`; never
imports `compiler`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar, Literal, final

import pydantic

from .definitions import ChainletMetadata, RemoteConfig

__all__ = ["EngineBuilderLLMChainlet", "EngineBuilderLLMInput"]


class EngineBuilderLLMInput(pydantic.BaseModel):
    """An OpenAI-style chat or completion request to a TensorRT-LLM engine.

    Give `messages` (chat: `[{"role": "user", "content": "..."}]`) or `prompt`
    (completion). The other fields are OpenAI's sampling and output parameters, plus
    the engine's own (`top_k`, `repetition_penalty`, lookahead decoding, ...).
    """

    class Tool(pydantic.BaseModel):
        """An element of `tools`."""

        class Function(pydantic.BaseModel):
            """The function a tool calls; `parameters` is its JSON schema."""

            name: str
            description: str | None = None
            parameters_: dict[str, Any] | None = pydantic.Field(
                None, alias="parameters"
            )
            return_: dict[str, Any] | None = pydantic.Field(None, alias="return")

        type: Literal["function"]
        function: Function

    class ToolChoice(pydantic.BaseModel):
        """`tool_choice` naming one function."""

        class FunctionChoice(pydantic.BaseModel):
            """The function chosen."""

            name: str

        type: Literal["function"]
        function: FunctionChoice

    class SchemaResponseFormat(pydantic.BaseModel):
        """`response_format` of a JSON schema."""

        class JsonSchema(pydantic.BaseModel):
            """The schema (`schema`)."""

            schema_: dict[str, Any] = pydantic.Field(..., alias="schema")

        type: Literal["json_schema"]
        json_schema: JsonSchema

    class JsonResponseFormat(pydantic.BaseModel):
        """`response_format` of any JSON object."""

        type: Literal["json_object"]

    class TextResponseFormat(pydantic.BaseModel):
        """`response_format` of plain text."""

        type: Literal["text"]

    class StreamOptions(pydantic.BaseModel):
        """`stream_options`."""

        include_usage: bool

    class LookaheadDecodingConfig(pydantic.BaseModel):
        """The engine's lookahead decoding settings."""

        window_size: int
        ngram_size: int
        verification_set_size: int

    model: str | None = ""
    messages: list[dict[str, Any]] | None = None
    prompt: str | None = pydantic.Field(None, min_length=1)
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    seed: int | None = None
    random_seed: int | None = None
    frequency_penalty: float | None = 0
    presence_penalty: float | None = 0
    length_penalty: float | None = None
    repetition_penalty: float | None = None
    temperature: float | None = 1.0
    top_p: float | None = 1.0
    runtime_top_p: float | None = None
    top_k: int | None = 50
    runtime_top_k: int | None = None
    stop: str | list[str] | None = None
    bad_words_: str | list[str] | None = None
    skip_special_tokens: list[str] | None = None
    response_format: (
        SchemaResponseFormat | JsonResponseFormat | TextResponseFormat | None
    ) = None
    tools: list[Tool] | None = None
    tool_choice: Literal["none", "required", "auto"] | ToolChoice | None = None
    parallel_tool_calls: bool | None = True
    beam_width: Literal[1] | None = None
    n: int | None = 1
    end_id: int | None = None
    pad_id: int | None = None
    margins_prompt: str | None = None
    margins_stop_sequences: list[str] | None = pydantic.Field(
        default_factory=lambda: ["NO#"]
    )
    max_chunk_size: int | None = 4096
    lookahead_decoding_config: LookaheadDecodingConfig | None = None


class EngineBuilderLLMChainlet:
    """Base class of a TensorRT-LLM engine Baseten builds from `engine_builder_config`.

    The class declares only configuration: `remote_config` (compute, secrets, options)
    and `engine_builder_config` (a `trt_llm_config.TRTLLMConfiguration`). Its
    `run_remote` is final: the engine answers it when deployed; a Chainlet that depends
    on it calls it with an `EngineBuilderLLMInput` and gets the reply as text chunks.
    """

    remote_config: ClassVar[RemoteConfig] = RemoteConfig()
    meta_data: ClassVar[ChainletMetadata] = ChainletMetadata()
    engine_builder_config: ClassVar[Any]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.meta_data = ChainletMetadata()

    @final
    async def run_remote(self, llm_input: EngineBuilderLLMInput) -> AsyncIterator[str]:
        """Only the deployed engine answers: locally this raises."""
        for _ in ():
            yield ""  # an async generator, as Truss's
        raise NotImplementedError(
            f"`{type(self).__name__}` is a TensorRT-LLM engine: only the deployed "
            "engine generates output (call it through its client in a deployed chain)."
        )
