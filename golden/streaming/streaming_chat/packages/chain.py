"""Streaming chat: the entrypoint streams generated text back to the client.

`ContextStreamer` streams plain strings, `TokenGenerator` streams typed data
(header, token items, footer) using the `truss_chains.streaming` helpers, and the
`StreamingChat` entrypoint consumes both streams while streaming its own output.
"""

from collections.abc import AsyncIterator

import pydantic
import chainsc_runtime as chains
from chainsc_runtime import streaming


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


from chainsc_generated.clients import ContextStreamer
from chainsc_generated.clients import TokenGenerator


@chains.mark_entrypoint
class StreamingChat(chains.ChainletBase):
    """Streams retrieved context, then the generated answer, then a stats line."""

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
