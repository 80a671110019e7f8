"""truss: test_framework.py::test_raises_websocket_with_other_args. A websocket endpoint takes nothing else."""
# parity: truss rejects

import truss_chains as chains


class Chat(chains.ChainletBase):
    async def run_remote(
        self,
        websocket: chains.WebSocketProtocol,
        name: str,  # E@11:9: CSC330
    ) -> None:
        pass
