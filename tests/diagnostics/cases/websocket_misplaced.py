"""`chains.WebSocketProtocol` is only the whole annotation of a websocket endpoint's parameter.

Returned, inside another type or in a pydantic model it has no schema; a `ModelBase`'s
`predict` cannot take one (Truss's generated model calls `run_remote` of a websocket).
"""

import pydantic
import truss_chains as chains


class Session(pydantic.BaseModel):
    socket: chains.WebSocketProtocol  # E: CSC339


class Opener(chains.ChainletBase):
    async def run_remote(self) -> chains.WebSocketProtocol:  # E: CSC333
        raise NotImplementedError


class Lister(chains.ChainletBase):
    async def run_remote(self, sockets: list[chains.WebSocketProtocol]) -> None:  # E: CSC333
        pass


class Keeper(chains.ChainletBase):
    async def run_remote(self, session: Session) -> None:
        pass


class Model(chains.ModelBase):  # W: CSC105
    async def predict(self, websocket: chains.WebSocketProtocol) -> None:  # E: CSC337
        await websocket.send_text("hi")


@chains.mark_entrypoint
class Entry(chains.ChainletBase):
    def __init__(
        self,
        opener: Opener = chains.depends(Opener),
        lister: Lister = chains.depends(Lister),
        keeper: Keeper = chains.depends(Keeper),
    ) -> None:
        self._opener = opener

    async def run_remote(self, text: str) -> str:
        return text
