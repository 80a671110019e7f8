"""truss: deployment/deployment_client.py::_generate_chainlet_artifacts. One display name for two Chainlets."""
# parity: truss rejects
# parity: truss-stage push
# parity: extra

import truss_chains as chains


class Dense(chains.ChainletBase):
    remote_config = chains.RemoteConfig(name="retriever")

    def run_remote(self) -> str:
        return "dense"


class Sparse(chains.ChainletBase):
    remote_config = chains.RemoteConfig(name="retriever")  # E@17:46: CSC107

    def run_remote(self) -> str:
        return "sparse"


@chains.mark_entrypoint
class Hybrid(chains.ChainletBase):
    def __init__(self, dense=chains.depends(Dense), sparse=chains.depends(Sparse)):
        self.dense = dense

    def run_remote(self) -> str:
        return "hybrid"
