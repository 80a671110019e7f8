"""The client of an engine builder against a stand-in engine on 127.0.0.1.

The engine (a TensorRT-LLM server Baseten builds) is an external service, so a scripted
server stands for it: it takes what Truss Chains' stub of an engine builder sends (one
`POST` of the `EngineBuilderLLMInput` JSON to the engine's URL) and streams an
OpenAI-compatible reply (server-sent events), which the client passes on as text.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import msgpack
import pytest

from chainsc_runtime import EngineBuilderLLMInput, RPCOptions
from chainsc_runtime.engine_client import EngineBuilderLLMClient, encode_llm_input
from chainsc_runtime.errors import GenericRemoteException
from chainsc_runtime.transport import ServiceTarget, find_service
from tests.runtime.httpserver import Reply, ScriptedServer

PREDICT = "/v1/models/model:predict"


def sse(text: str) -> bytes:
    """One OpenAI chat-completion chunk as a server-sent event."""
    event = {
        "object": "chat.completion.chunk",
        "choices": [{"delta": {"content": text}}],
    }
    return f"data: {json.dumps(event)}\n\n".encode()


class Engine(EngineBuilderLLMClient):
    """What chainsc generates where an engine builder's class stood."""

    STREAMING_READ_TIMEOUT_SEC = 5


def client(url: str, **options: Any) -> Engine:
    return Engine(
        service="Llama",
        target=ServiceTarget(url=url + PREDICT),
        options=RPCOptions(**options),
        api_key="secret",
    )


def collect(engine: Engine, llm_input: Any, gate: threading.Event | None) -> list[str]:
    async def main() -> list[str]:
        received: list[str] = []
        try:
            async for text in engine.run_remote(llm_input):
                received.append(text)
                if gate is not None:
                    gate.set()  # the engine sends the rest only after the first chunk arrived
        finally:
            await engine.aclose()
        return received

    return asyncio.run(main())


def test_engine_client_posts_the_request_itself_and_streams_the_reply_as_it_arrives() -> (
    None
):
    gate = threading.Event()
    euro = "€".encode()
    chunks = [sse("Hel"), sse("lo") + euro[:1], euro[1:] + b"\n", b"data: [DONE]\n\n"]
    llm_input = EngineBuilderLLMInput(
        messages=[{"role": "user", "content": "Say hello"}],
        max_tokens=16,
        stream=True,
        tools=[
            {
                "type": "function",
                "function": {"name": "greet", "parameters": {"type": "object"}},
            }
        ],
    )
    with ScriptedServer(lambda request: Reply(chunks=chunks, gate=gate)) as server:
        received = collect(client(server.url), llm_input, gate)
    assert received[0] == sse("Hel").decode()  # before the engine sent the rest
    assert "".join(received) == b"".join(chunks).decode()
    assert "€" in received[-2] or "€" in received[-1]  # split bytes yielded whole
    (request,) = server.requests
    assert request.path == PREDICT
    assert request.headers["content-type"] == "application/json"
    assert request.headers["authorization"] == "Api-Key secret"
    body = request.json()
    # The request itself (no object of arguments by name), every field, OpenAI's names.
    assert body["messages"] == [{"role": "user", "content": "Say hello"}]
    assert body["max_tokens"] == 16
    assert body["stream"] is True
    assert body["temperature"] == 1.0
    assert body["margins_stop_sequences"] == ["NO#"]
    assert body["tools"][0]["function"]["parameters"] == {"type": "object"}
    assert set(body) == set(EngineBuilderLLMInput.model_fields) | {"bad_words_"}


def test_engine_client_sends_a_json_object_as_it_is() -> None:
    with ScriptedServer(lambda request: Reply(chunks=[b"ok"])) as server:
        received = collect(client(server.url), {"prompt": "hi", "max_tokens": 3}, None)
    assert received == ["ok"]
    assert server.requests[0].json() == {"prompt": "hi", "max_tokens": 3}


def test_engine_client_use_binary_sends_msgpack() -> None:
    with ScriptedServer(lambda request: Reply(chunks=[b"ok"])) as server:
        received = collect(
            client(server.url, use_binary=True),
            EngineBuilderLLMInput(prompt="hi"),
            None,
        )
    assert received == ["ok"]
    (request,) = server.requests
    assert request.headers["content-type"] == "application/octet-stream"
    assert msgpack.unpackb(request.body)["prompt"] == "hi"


def test_engine_client_reports_the_engines_error() -> None:
    with ScriptedServer(lambda request: Reply(400, {"error": "bad prompt"})) as server:
        engine = client(server.url)
        with pytest.raises(GenericRemoteException, match=r"status=400\. bad prompt"):
            collect(engine, EngineBuilderLLMInput(prompt="hi"), None)


def test_engine_client_refuses_what_is_no_request() -> None:
    with pytest.raises(TypeError, match="EngineBuilderLLMInput"):
        encode_llm_input("hi")


def test_engine_client_finds_a_url_given_as_it_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`chainsc run --service NAME=URL`: the engine's URL, posted to as it is."""
    monkeypatch.setenv(
        "CHAINSC_SERVICES",
        json.dumps(
            {"Llama": {"predict_url": "http://127.0.0.1:1/v1/models/model:predict"}}
        ),
    )
    target = find_service("Llama")
    assert target.url == "http://127.0.0.1:1/v1/models/model:predict"
    assert not target.from_platform  # no API key required for it
    monkeypatch.setenv("CHAINSC_SERVICES", json.dumps({"Llama": {"url": "x"}}))
    with pytest.raises(Exception, match="no usable URL"):
        find_service("Llama")
