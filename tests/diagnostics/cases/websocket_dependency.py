"""Only the entrypoint serves a websocket: a websocket Chainlet is never a dependency."""

import truss_chains as chains


class Socket(chains.ChainletBase):
    async def run_remote(self, websocket: chains.WebSocketProtocol) -> None:
        await websocket.send_text("hi")


@chains.mark_entrypoint
class Caller(chains.ChainletBase):
    def __init__(self, socket=chains.depends(Socket)) -> None:  # E: CSC334
        self._socket = socket

    async def run_remote(self) -> None:
        pass
