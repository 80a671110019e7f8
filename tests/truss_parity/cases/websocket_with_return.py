"""truss: test_framework.py::test_raises_websocket_with_return. A websocket endpoint returns `None`."""
# parity: truss rejects

import truss_chains as chains


class Chat(chains.ChainletBase):
    async def run_remote(self, websocket: chains.WebSocketProtocol) -> int:  # E@8:72: CSC331
        return 1
