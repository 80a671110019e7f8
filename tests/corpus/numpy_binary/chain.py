import numpy as np
import pydantic

import truss_chains as chains
from truss_chains import pydantic_numpy


class Tensor(pydantic.BaseModel):
    name: str
    values: pydantic_numpy.NumpyArrayField


class SyncScaler(chains.ChainletBase):
    def run_remote(self, tensor: Tensor) -> Tensor:
        return tensor.model_copy(update={"name": "scaled", "values": tensor.values * 2})


class AsyncShifter(chains.ChainletBase):
    async def run_remote(self, tensor: Tensor) -> Tensor:
        return tensor.model_copy(update={"name": "shifted", "values": tensor.values + 1})


class AsyncSource(chains.ChainletBase):
    async def run_remote(self) -> Tensor:
        return Tensor(name="source", values=np.full((2, 3), 4))


class AsyncSink(chains.ChainletBase):
    async def run_remote(self, tensor: Tensor) -> None:
        print(tensor.name, tensor.values.shape)


class HostJSON(chains.ChainletBase):
    """Calls every helper with JSON bodies."""

    def __init__(
        self,
        scaler=chains.depends(SyncScaler, use_binary=False),
        shifter=chains.depends(AsyncShifter, use_binary=False),
        sink=chains.depends(AsyncSink, use_binary=False),
        source=chains.depends(AsyncSource, use_binary=False),
    ):
        self._scaler = scaler
        self._shifter = shifter
        self._sink = sink
        self._source = source

    async def run_remote(self) -> tuple[Tensor, Tensor, Tensor]:
        tensor = Tensor(name="host", values=np.ones((2, 2)))
        scaled = self._scaler.run_remote(tensor)
        shifted = await self._shifter.run_remote(tensor)
        await self._sink.run_remote(tensor)
        return scaled, shifted, await self._source.run_remote()


class HostBinary(chains.ChainletBase):
    """Calls every helper with msgpack bodies."""

    def __init__(
        self,
        scaler=chains.depends(SyncScaler, use_binary=True),
        shifter=chains.depends(AsyncShifter, use_binary=True),
        sink=chains.depends(AsyncSink, use_binary=True),
        source=chains.depends(AsyncSource, use_binary=True),
    ):
        self._scaler = scaler
        self._shifter = shifter
        self._sink = sink
        self._source = source

    async def run_remote(self) -> tuple[Tensor, Tensor, Tensor]:
        tensor = Tensor(name="host", values=np.ones((3, 1)))
        scaled = self._scaler.run_remote(tensor)
        shifted = await self._shifter.run_remote(tensor)
        await self._sink.run_remote(tensor)
        return scaled, shifted, await self._source.run_remote()
