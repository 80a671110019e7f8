"""truss: test_framework.py::test_raises_websocket_with_wrong_transport. A websocket endpoint over gRPC."""
# parity: truss rejects

import truss_chains as chains


class Chat(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        options=chains.ChainletOptions(transport={"kind": "grpc"})  # E@9:50: CSC335
    )

    async def run_remote(self, websocket: chains.WebSocketProtocol) -> None: ...
