"""Streaming chat: the entrypoint streams generated text back to the client.

`ContextStreamer` streams plain strings, `TokenGenerator` streams typed data
(header, token items, footer) using the `truss_chains.streaming` helpers, and the
`StreamingChat` entrypoint consumes both streams while streaming its own output.
"""

import time
import typing
import uuid
from collections.abc import AsyncIterator

import pydantic
import truss_chains as chains
from truss_chains import streaming

MODEL_NAME = "toy-bigram-lm"
KNOWLEDGE_BASE = {
    "chains": "Chains connect several deployed Chainlets into one pipeline.",
    "streaming": "Streaming endpoints must be async generators.",
    "gpu": "GPU Chainlets declare their accelerator in remote_config.",
}


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


class ContextStreamer(chains.ChainletBase):
    """Streams knowledge-base snippets relevant to a prompt, one line at a time."""

    async def run_remote(self, prompt: str) -> typing.AsyncIterator[str]:
        for keyword, snippet in KNOWLEDGE_BASE.items():
            if keyword in prompt.lower():
                yield snippet + "\n"


class TokenGenerator(chains.ChainletBase):
    """Emits a typed stream: one header, N token items and a footer with stats."""

    remote_config = chains.RemoteConfig(
        docker_image=chains.DockerImage(pip_requirements=["numpy>=1.26"]),
        compute=chains.Compute(cpu_count=2, memory="4Gi", gpu="L4"),
        options=chains.ChainletOptions(streaming_read_timeout=120),
    )

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


@chains.mark_entrypoint
class StreamingChat(chains.ChainletBase):
    """Streams retrieved context, then the generated answer, then a stats line."""

    remote_config = chains.RemoteConfig(options=chains.ChainletOptions(streaming_read_timeout=300))

    def __init__(
        self,
        context_streamer: ContextStreamer = chains.depends(ContextStreamer),
        generator: TokenGenerator = chains.depends(TokenGenerator, timeout_sec=300),
    ) -> None:
        self._context_streamer = context_streamer
        self._generator = generator

    async def run_remote(self, prompt: str, max_new_tokens: int = 32) -> AsyncIterator[str]:
        async for line in self._context_streamer.run_remote(prompt):
            yield f"[context] {line}"

        request = GenerationRequest(prompt=prompt, max_new_tokens=max_new_tokens)
        reader = streaming.stream_reader(GENERATION_STREAM, self._generator.run_remote(request))
        header = await reader.read_header()
        yield f"[{header.model} #{header.request_id[:8]}] "
        async for token in reader.read_items():
            yield token.text + " "
        footer = await reader.read_footer()
        yield f"\n[{footer.num_tokens} tokens, {footer.finish_reason}]\n"
