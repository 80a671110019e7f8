"""truss: test_framework.py::test_raises_context_wrong_annot. The context annotated as something else."""
# parity: truss rejects

import truss_chains as chains


class Secrets(chains.ChainletBase):
    def __init__(self, context: object = chains.depends_context()):  # E@8:33: CSC313
        self.context = context

    def run_remote(self) -> str:
        return "secret"
