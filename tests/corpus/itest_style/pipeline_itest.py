import logging
import math

from user_package import shared_chainlet
from user_package.nested_package import io_types

import truss_chains as chains

logger = logging.getLogger(__name__)

BASE_IMAGE = chains.DockerImage(
    base_image=chains.BasetenImage.PY311,
    requirements_file=chains.make_abs_path_here("requirements.txt"),
)

SLIM_IMAGE = chains.DockerImage(
    base_image=chains.CustomImage(image="python:3.11-slim-bookworm"),
    requirements_file=chains.make_abs_path_here("requirements.txt"),
)


class PatternSource(chains.ChainletBase):
    remote_config = chains.RemoteConfig(docker_image=BASE_IMAGE, name="PATTERN_SOURCE")

    def run_remote(self, size: int) -> str:
        motif = "xyzzyq"
        repeats = int(math.ceil(size / len(motif)))
        return (motif * repeats)[:size]


def check_length(text):
    if len(text) > 40:
        raise ValueError(f"Input of length {len(text)} is too long.")


class Doubler(chains.ChainletBase):
    remote_config = chains.RemoteConfig(docker_image=SLIM_IMAGE)

    def __init__(self):
        try:
            import pytzdata

            logger.info(f"Found {pytzdata}.")
        except ModuleNotFoundError:
            logger.info("pytzdata is not installed.")
        self.factor = 2

    def run_remote(self, text: str) -> str:
        check_length(text)
        return text * self.factor


class AuditBase(chains.ChainletBase):
    def __init__(self, context=chains.depends_context()):
        self.ctx = context

    def run_remote(self) -> None:
        logger.info("Audit: nothing in, nothing out.")


class AuditOnlySubclass(AuditBase):
    remote_config = chains.RemoteConfig(docker_image=SLIM_IMAGE)

    def __init__(self, context=chains.depends_context()):
        super().__init__(context=context)

    def run_remote(self) -> None:
        return super().run_remote()


class CharSum(chains.ChainletBase):
    remote_config = chains.RemoteConfig(docker_image=BASE_IMAGE)

    def __init__(
        self,
        doubler: Doubler = chains.depends(Doubler),
        audit=chains.depends(AuditOnlySubclass),
    ) -> None:
        self._doubler = doubler
        self._audit = audit

    def run_remote(self, text: str) -> int:
        total = sum(ord(char) for char in self._doubler.run_remote(text))
        self._audit.run_remote()
        return total


@chains.mark_entrypoint
class PipelineItest(chains.ChainletBase):
    remote_config = chains.RemoteConfig(docker_image=BASE_IMAGE)

    def __init__(
        self,
        source: PatternSource = chains.depends(PatternSource),
        chunker=chains.depends(shared_chainlet.FlakyChunker, retries=2),
        char_sum: CharSum = chains.depends(CharSum),
        context=chains.depends_context(),
    ) -> None:
        logging.info("Loading the pipeline.")
        self._context = context
        self._source = source
        self._chunker = chunker
        self._char_sum = char_sum

    async def run_remote(
        self,
        size: int,
        num_chunks: int,
        fallback: shared_chainlet.ChunkResult = shared_chainlet.ChunkResult(
            chunks=[], chunk_sizes=[3]
        ),
        labels: list[str] = ["p", "q"],
    ) -> tuple[int, str, int, shared_chainlet.ChunkResult, list[str]]:
        logger.info("Running the pipeline.")
        text = self._source.run_remote(size)
        result, tag, markers = await self._chunker.run_remote(
            io_types.ChunkRequest(
                payload=text, num_chunks=num_chunks, casing=io_types.Casing.UPPER
            ),
            tag=7,
            markers=[io_types.Marker(position=0), io_types.Marker(position=1)],
        )
        logger.info(markers)
        total = sum(self._char_sum.run_remote(chunk) for chunk in result.chunks)
        return (total, text, tag, fallback, labels)
