"""truss: test_framework.py::test_raises_websocket_as_output. A websocket as the return type."""
# parity: truss rejects

import truss_chains as chains


class Chat(chains.ChainletBase):
    async def run_remote(self) -> chains.WebSocketProtocol: ...  # E@8:35: CSC333
