"""truss: test_framework.py::test_raises_websocket_as_dependency. A websocket Chainlet as a dependency."""
# parity: truss rejects

import truss_chains as chains


class Relay(chains.ChainletBase):
    async def run_remote(self, websocket: chains.WebSocketProtocol) -> None:
        pass


@chains.mark_entrypoint
class Front(chains.ChainletBase):
    def __init__(self, relay=chains.depends(Relay)):  # E@14:45: CSC334
        self._relay = relay

    async def run_remote(self) -> None:
        pass
