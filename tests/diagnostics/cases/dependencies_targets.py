"""`chains.depends(X)`: X must be a Chainlet class defined in the chain's sources."""

import torch_serving
import truss_chains as chains


class Tokenizer:
    def run_remote(self, text: str) -> list[str]:
        return text.split()


def make_embedder() -> object:
    return object()


class RemoteModel(chains.StubBase):
    async def run_remote(self, text: str) -> str:
        return await self.predict_async({"text": text})


@chains.mark_entrypoint
class Pipeline(chains.ChainletBase):
    def __init__(
        self,
        classifier=chains.depends(Clasifier),  # E: CSC301
        server=chains.depends(torch_serving.Server),  # E: CSC301
        fallback=chains.depends(),  # E: CSC301
        tokenizer=chains.depends(Tokenizer),  # E: CSC302
        embedder=chains.depends(make_embedder),  # E: CSC302
        remote=chains.depends(RemoteModel),  # E: CSC302
    ) -> None:
        self._tokenizer = tokenizer

    def run_remote(self, text: str) -> str:
        return text
