"""truss: Python runs one branch of an `if`: the Chainlet defined there is the chain's."""
# parity: truss accepts
# parity: extra

import truss_chains as chains

ON_GPU = False

if ON_GPU:

    class Embedder(chains.ChainletBase):
        remote_config = chains.RemoteConfig(compute=chains.Compute(gpu="T4"))

        def run_remote(self) -> str:
            return "gpu"

else:

    class Embedder(chains.ChainletBase):
        def run_remote(self) -> str:
            return "cpu"


@chains.mark_entrypoint
class Search(chains.ChainletBase):
    def __init__(self, embedder=chains.depends(Embedder)):
        self.embedder = embedder

    def run_remote(self) -> str:
        return self.embedder.run_remote()
