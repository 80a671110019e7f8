"""The client of an `EngineBuilderLLMChainlet`: OpenAI-style requests, a text stream back.

Part of the vendored runtime (`runtime_lib`, imported as `chainsc_runtime` in generated
packages). A Chainlet that depends on an engine builder gets, where the engine's class
stood in its code, a generated subclass of `EngineBuilderLLMClient` (named like the
class; `STREAMING_READ_TIMEOUT_SEC` is the engine's `streaming_read_timeout`), built by
`ChainletModel.load()` like any dependency's client. Its `run_remote(llm_input)` is what
Truss Chains' generated stub of an engine builder does: one `POST` of the request itself
(not wrapped in an object of arguments) to the engine's URL (the dynamic config's
`predict_url` or `internal_url` on Baseten, or where `CHAINSC_SERVICES` points), then the
reply's bytes as they arrive, decoded as UTF-8 text (incrementally: a character split
between chunks is yielded whole). What the text is, OpenAI's server-sent events
(`data: {...}`) or plain tokens, is the engine's answer to the request (its `stream`
field), passed on as it is, as Truss does. Retries, timeouts, the concurrency limit, the
API key and `use_binary` (a msgpack body) are the `ChainletClient`'s.
Imports `.transport`, `.binary` and `.engine_builder`; never imports `compiler`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pydantic

from . import binary
from .engine_builder import EngineBuilderLLMInput
from .transport import ChainletClient, ServiceTarget

__all__ = ["LLM_INPUT_PARAM", "EngineBuilderLLMClient", "encode_llm_input"]

#: The parameter of the engine's `run_remote`, as Truss names it.
LLM_INPUT_PARAM = "llm_input"


def encode_llm_input(llm_input: object, *, use_binary: bool = False) -> bytes:
    """The request body: the `EngineBuilderLLMInput` itself, every field, by OpenAI's names.

    Truss Chains sends the model's JSON (`model_dump_json()`, defaults included); chainsc
    writes the fields by alias (`parameters` and `schema`, as OpenAI names them, where
    truss 0.18.36 writes `parameters_` and `schema_`). A mapping is sent as it is
    (Truss's stubs take JSON too). `use_binary`: msgpack, as Truss sends it then.
    """
    if isinstance(llm_input, pydantic.BaseModel):
        data: object = llm_input.model_dump(
            mode="python" if use_binary else "json", by_alias=True
        )
    elif isinstance(llm_input, Mapping):
        data = dict(llm_input)
    else:
        raise TypeError(
            f"`{LLM_INPUT_PARAM}` must be an `EngineBuilderLLMInput` (or its JSON "
            f"object), got `{type(llm_input).__name__}`"
        )
    if use_binary:
        return binary.packb(data)
    return json.dumps(data, separators=(",", ":")).encode("utf-8")


class EngineBuilderLLMClient(ChainletClient):
    """Client of a TensorRT-LLM engine (an `EngineBuilderLLMChainlet` of the chain).

    `run_remote(llm_input)` streams the engine's reply as text. Constructed like any
    `ChainletClient` (`service=`, `url=` or `target=`, `options=`, `api_key=`).
    """

    def __init__(
        self,
        *,
        service: str,
        url: str | None = None,
        options: Any = None,
        api_key: str | None = None,
        target: ServiceTarget | None = None,
    ) -> None:
        super().__init__(
            service=service, url=url, options=options, api_key=api_key, target=target
        )
        use_binary = self._binary

        def encode(arguments: Mapping[str, object]) -> bytes:
            return encode_llm_input(arguments[LLM_INPUT_PARAM], use_binary=use_binary)

        # The body is the request itself, not an object of the arguments by name.
        self._encode_body = encode

    def run_remote(self, llm_input: EngineBuilderLLMInput) -> AsyncIterator[str]:
        """Send `llm_input` to the engine; its reply's text, chunk by chunk, as it arrives."""
        return self.astream({LLM_INPUT_PARAM: llm_input}, str)
