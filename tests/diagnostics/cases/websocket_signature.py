"""A websocket endpoint is `async def run_remote(self, websocket: chains.WebSocketProtocol) -> None`.

Truss checks the same (the websocket is the only parameter, `None` is returned, the method
is async); chainsc points at the parameter, the annotation or the method.
"""

import truss_chains as chains


class Keyword(chains.ChainletBase):  # W: CSC105
    # Truss passes the websocket positionally.
    async def run_remote(self, *, websocket: chains.WebSocketProtocol) -> None:  # E: CSC338
        await websocket.send_text("hi")


@chains.mark_entrypoint
class Echo(chains.ChainletBase):
    def run_remote(  # E: CSC332
        self,
        websocket: chains.WebSocketProtocol,
        name: str,  # E: CSC330
    ) -> str:  # E: CSC331
        return name
