import asyncio
import time
from typing import AsyncIterator

import pydantic

import truss_chains as chains
from truss_chains import streaming


class Preamble(pydantic.BaseModel):
    started: float
    note: str


class Batch(pydantic.BaseModel):
    tokens: list[str]


class Summary(pydantic.BaseModel):
    finished: float
    elapsed_sec: float
    note: str


class ReaderOutput(pydantic.BaseModel):
    preamble: Preamble
    batches: list[Batch]
    summary: Summary
    text: str


STREAM_TYPES = streaming.stream_types(Batch, header_type=Preamble, footer_type=Summary)


class BatchProducer(chains.ChainletBase):
    """Streams pydantic items framed by a header and a footer."""

    async def run_remote(self, fail_midway: bool) -> AsyncIterator[bytes]:
        writer = streaming.stream_writer(STREAM_TYPES)
        preamble = Preamble(started=time.time(), note="begin")
        yield writer.yield_header(preamble)
        for size in range(1, 4):
            yield writer.yield_item(Batch(tokens=[f"t{n}" for n in range(size)]))
            if fail_midway and size > 1:
                raise RuntimeError("Failure in the middle of the stream.")
            await asyncio.sleep(0.01)
        finished = time.time()
        yield writer.yield_footer(Summary(finished=finished, elapsed_sec=finished - preamble.started, note="end"))


class TextProducer(chains.ChainletBase):
    """Streams raw text pieces."""

    async def run_remote(self) -> AsyncIterator[str]:
        yield "alpha "
        yield "beta "
        yield "gamma"


@chains.mark_entrypoint
class StreamReader(chains.ChainletBase):
    def __init__(
        self,
        batches=chains.depends(BatchProducer),
        texts=chains.depends(TextProducer),
    ):
        self._batches = batches
        self._texts = texts

    async def run_remote(self, fail_midway: bool) -> ReaderOutput:
        reader = streaming.stream_reader(STREAM_TYPES, self._batches.run_remote(fail_midway))
        preamble = await reader.read_header()
        batches = [batch async for batch in reader.read_items()]
        summary = await reader.read_footer()
        pieces = [piece async for piece in self._texts.run_remote()]
        return ReaderOutput(preamble=preamble, batches=batches, summary=summary, text="".join(pieces))


if __name__ == "__main__":
    with chains.run_local():
        print(asyncio.run(StreamReader().run_remote(False)))
