"""truss: test_framework.py::test_raises_dep_not_chainlet_annot. A dependency annotated as something else."""
# parity: truss rejects

import truss_chains as chains


class Translator(chains.ChainletBase):
    def run_remote(self) -> str:
        return "translated"


@chains.mark_entrypoint
class Reader(chains.ChainletBase):
    def __init__(
        self,
        translator: chains.RPCOptions = chains.depends(Translator),  # E@16:21: CSC307
    ):
        self.translator = translator

    def run_remote(self) -> str:
        return "read"
