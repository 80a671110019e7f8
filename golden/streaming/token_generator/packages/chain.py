"""Streaming chat: the entrypoint streams generated text back to the client.

`ContextStreamer` streams plain strings, `TokenGenerator` streams typed data
(header, token items, footer) using the `truss_chains.streaming` helpers, and the
`StreamingChat` entrypoint consumes both streams while streaming its own output.
"""

import time
import uuid
from collections.abc import AsyncIterator

import pydantic
import chainsc_runtime as chains
from chainsc_runtime import streaming

MODEL_NAME = "toy-bigram-lm"


class GenerationRequest(pydantic.BaseModel):
    prompt: str
    max_new_tokens: int = pydantic.Field(default=32, ge=1, le=512)
    temperature: float = 0.7


class GenerationHeader(pydantic.BaseModel):
    request_id: str
    model: str


class Token(pydantic.BaseModel):
    index: int
    text: str
    logprob: float


class GenerationFooter(pydantic.BaseModel):
    num_tokens: int
    finish_reason: str
    duration_sec: float


GENERATION_STREAM = streaming.stream_types(
    Token, header_type=GenerationHeader, footer_type=GenerationFooter
)


class TokenGenerator(chains.ChainletBase):
    """Emits a typed stream: one header, N token items and a footer with stats."""

    async def run_remote(self, request: GenerationRequest) -> AsyncIterator[bytes]:
        start = time.monotonic()
        writer = streaming.stream_writer(GENERATION_STREAM)
        yield writer.yield_header(GenerationHeader(request_id=uuid.uuid4().hex, model=MODEL_NAME))
        words = request.prompt.split() or ["..."]
        count = 0
        for count in range(1, request.max_new_tokens + 1):
            word = words[(count * 7) % len(words)]
            yield writer.yield_item(Token(index=count, text=word, logprob=-0.1 * count))
        yield writer.yield_footer(
            GenerationFooter(
                num_tokens=count,
                finish_reason="length",
                duration_sec=time.monotonic() - start,
            )
        )
