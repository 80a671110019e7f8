"""A websocket endpoint needs the websocket transport (its default), and only it allows it.

Truss validates a dict into the transport its `kind` names, as in its own tests.
"""

import truss_chains as chains
from truss.base import truss_config


class Grpc(chains.ChainletBase):  # W: CSC105
    remote_config = chains.RemoteConfig(
        options=chains.ChainletOptions(transport={"kind": "grpc"})  # E: CSC335
    )

    async def run_remote(self, websocket: chains.WebSocketProtocol) -> None: ...


class Http(chains.ChainletBase):  # W: CSC105
    remote_config = chains.RemoteConfig(
        options=chains.ChainletOptions(transport=truss_config.HTTPOptions())  # E: CSC335
    )

    async def run_remote(self, websocket: chains.WebSocketProtocol) -> None: ...


class Pinged(chains.ChainletBase):  # W: CSC105
    remote_config = chains.RemoteConfig(
        options=chains.ChainletOptions(
            transport=truss_config.WebsocketOptions(ping_interval_seconds=5.0)
        )
    )

    async def run_remote(self, websocket: chains.WebSocketProtocol) -> None: ...


@chains.mark_entrypoint
class Plain(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        options=chains.ChainletOptions(transport={"kind": "websocket"})  # E: CSC336
    )

    async def run_remote(self) -> None: ...
