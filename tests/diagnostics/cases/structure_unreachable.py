"""`Translator` is in the file but the entrypoint never depends on it."""

import truss_chains as chains


class Translator(chains.ChainletBase):  # W: CSC105
    def run_remote(self, text: str, language: str) -> str:
        return text


class Normalizer(chains.ChainletBase):
    def run_remote(self, text: str) -> str:
        return text.strip().lower()


@chains.mark_entrypoint
class Pipeline(chains.ChainletBase):
    def __init__(self, normalizer: Normalizer = chains.depends(Normalizer)) -> None:
        self._normalizer = normalizer

    def run_remote(self, text: str) -> str:
        return self._normalizer.run_remote(text)
