"""A `chains.ModelBase` is deployed on its own: its `__init__` takes only the context."""

import truss_chains as chains


class Tokenizer(chains.ChainletBase):  # W: CSC105
    def run_remote(self, text: str) -> list[str]:
        return text.split()


@chains.mark_entrypoint
class Classifier(chains.ModelBase):
    def __init__(
        self,
        tokenizer: Tokenizer = chains.depends(Tokenizer),  # E@15:9: CSC315
        threshold: float = 0.5,  # E@16:9: CSC315
        context: chains.DeploymentContext = chains.depends_context(),
    ) -> None:
        self._threshold = threshold

    def predict(self, text: str) -> str:
        return "positive"
