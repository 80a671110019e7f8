"""truss: test_framework.py::test_raises_http_with_websocket_transport. Websocket transport, HTTP endpoint."""
# parity: truss rejects

import truss_chains as chains


class Plain(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        options=chains.ChainletOptions(transport={"kind": "websocket"})  # E@9:50: CSC336
    )

    async def run_remote(self) -> None: ...
