"""truss: test_framework.py::test_raises_depends_usage. `depends` called in a body, not as a default."""
# parity: truss rejects

import truss_chains as chains


class Speller(chains.ChainletBase):
    def run_remote(self) -> str:
        return "spelled"


@chains.mark_entrypoint
class Editor(chains.ChainletBase):
    def __init__(self):
        self.speller = chains.depends(Speller)  # E@15:24: CSC304

    def run_remote(self) -> str:
        return self.speller.run_remote()
