"""truss: test_framework.py::test_raises_http_with_websocket_transport. Websocket transport, HTTP endpoint."""
# parity: truss rejects
# parity: pending wt-websocket

import truss_chains as chains


class Plain(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        options=chains.ChainletOptions(transport={"kind": "websocket"})  # E@10:50: ?
    )

    async def run_remote(self) -> None: ...
