"""Chainlets are deployed on their own and injected with `chains.depends`, never built by hand."""

import truss_chains as chains


class Tokenizer(chains.ChainletBase):
    def run_remote(self, text: str) -> list[str]:
        return text.split()


class Embedder(chains.ChainletBase):  # W: CSC105
    def run_remote(self, text: str) -> list[float]:
        return [float(len(text))]


def default_tokenizer() -> Tokenizer:
    return Tokenizer()  # E@17:12: CSC314


@chains.mark_entrypoint
class Search(chains.ChainletBase):
    def __init__(self, tokenizer: Tokenizer = chains.depends(Tokenizer)) -> None:
        self._tokenizer = tokenizer
        self._embedder = Embedder()  # E@24:26: CSC314

    def run_remote(self, query: str) -> list[float]:
        return self._embedder.run_remote(query)


if __name__ == "__main__":
    # A script of its own: building Chainlets by hand in `run_local` is what it is for.
    with chains.run_local():
        print(Search().run_remote("hello"))
