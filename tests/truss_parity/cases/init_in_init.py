"""truss: test_framework.py::test_raises_init_in_init. A Chainlet built by hand in another's `__init__`."""
# parity: truss rejects

import truss_chains as chains


class Tokenizer(chains.ChainletBase):
    def run_remote(self) -> str:
        return "tokens"


class Detokenizer(chains.ChainletBase):
    def run_remote(self) -> str:
        return "text"


@chains.mark_entrypoint
class Pipeline(chains.ChainletBase):
    def __init__(self, detokenizer=chains.depends(Detokenizer)):
        self.tokenizer = Tokenizer()  # E@20:26: CSC314
        self.detokenizer = detokenizer

    def run_remote(self) -> str:
        return self.tokenizer.run_remote()
