"""Two Chainlets and no `@chains.mark_entrypoint`."""

import truss_chains as chains


class Tokenizer(chains.ChainletBase):  # E: CSC102
    def run_remote(self, text: str) -> list[str]:
        return text.split()


class Counter(chains.ChainletBase):
    def __init__(self, tokenizer: Tokenizer = chains.depends(Tokenizer)) -> None:
        self._tokenizer = tokenizer

    async def run_remote(self, text: str) -> int:
        return len(self._tokenizer.run_remote(text))
