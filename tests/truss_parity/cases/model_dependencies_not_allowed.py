"""truss: test_framework.py::test_raises_model_dependencies_not_allowed. A ModelBase takes no dependencies."""
# parity: truss rejects

import truss_chains as chains


class Helper(chains.ChainletBase):
    def run_remote(self) -> str:
        return "help"


@chains.mark_entrypoint
class Model(chains.ModelBase):
    def __init__(self, helper=chains.depends(Helper)):  # E@14:24: CSC315
        self.helper = helper

    def predict(self, text: str) -> str:
        return text
