"""Streaming endpoints yield `str` or `bytes` and say so in the return type."""

from collections.abc import AsyncIterator, Iterator

import pydantic
import truss_chains as chains


class Token(pydantic.BaseModel):
    text: str


class Generator(chains.ChainletBase):
    async def run_remote(self, prompt: str) -> AsyncIterator[str]:  # E: CSC208
        return prompt


class Detokenizer(chains.ChainletBase):
    def run_remote(self, prompt: str) -> str:  # E: CSC209
        for word in prompt.split():
            yield word


class Tokenizer(chains.ChainletBase):
    def run_remote(self, prompt: str) -> Iterator[int]:  # E: CSC210
        for word in prompt.split():
            yield len(word)


class Labeler(chains.ChainletBase):
    async def run_remote(self, prompt: str) -> AsyncIterator[Token]:  # E: CSC210
        for word in prompt.split():
            yield Token(text=word)


class Chunker(chains.ChainletBase):
    def run_remote(self, prompt: str) -> Iterator:  # E: CSC210
        yield prompt


@chains.mark_entrypoint
class Streamer(chains.ChainletBase):
    def __init__(
        self,
        generator: Generator = chains.depends(Generator),
        detokenizer: Detokenizer = chains.depends(Detokenizer),
        tokenizer: Tokenizer = chains.depends(Tokenizer),
        labeler: Labeler = chains.depends(Labeler),
        chunker: Chunker = chains.depends(Chunker),
    ) -> None:
        self._generator = generator

    def run_remote(self, prompt: str) -> AsyncIterator[str]:  # E: CSC209
        yield prompt
