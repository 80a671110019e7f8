from typing import List, Tuple  # Old-style generics on purpose.

import pydantic

import truss_chains as chains

from .nested_package import io_types  # Relative import inside the package.


class ChunkResult(pydantic.BaseModel):
    chunks: List[str]
    chunk_sizes: List[int]


class FlakyChunker(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        docker_image=chains.DockerImage(
            requirements_file=chains.make_abs_path_here("../requirements.txt"),
            pip_requirements=["numpy"],
        )
    )

    def __init__(self):
        self._calls = 0

    async def run_remote(
        self,
        request: io_types.ChunkRequest,
        tag: int,
        markers: list[io_types.Marker],
    ) -> Tuple[ChunkResult, int, list[io_types.Marker]]:
        import numpy as np

        self._calls += 1
        if self._calls == 1:
            raise RuntimeError("First call fails to exercise retries.")
        text = request.payload
        if request.casing == io_types.Casing.UPPER:
            text = text.upper()
        pieces = np.array_split(np.array(list(text)), request.num_chunks)
        chunks = ["".join(piece) for piece in pieces]
        return ChunkResult(chunks=chunks, chunk_sizes=[len(c) for c in chunks]), tag, markers
