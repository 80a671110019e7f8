"""A websocket entrypoint that calls its dependency when asked to.

In the shape of Truss's own websocket test chain: `fastapi` imported for its
`WebSocketDisconnect`, the dependency bound without an annotation, a loop on the
websocket that ends when the client leaves. Text and bytes messages both come back.
"""

import fastapi

import truss_chains as chains


class Greeter(chains.ChainletBase):
    async def run_remote(self, name: str) -> str:
        greeting = f"Hello from the dependency, {name}."
        print(greeting)
        return greeting


@chains.mark_entrypoint
class Socket(chains.ChainletBase):
    def __init__(self, greeter=chains.depends(Greeter)):
        self._greeter = greeter

    async def run_remote(self, websocket: chains.WebSocketProtocol) -> None:
        try:
            while True:
                message = await websocket.receive()
                if isinstance(message, bytes):
                    await websocket.send_bytes(message[::-1])
                elif message == "dep":
                    await websocket.send_text(await self._greeter.run_remote("Socket"))
                else:
                    await websocket.send_text(f"You said: {message}.")
        except fastapi.WebSocketDisconnect:
            print("Socket: the client left.")
