"""The endpoint and `is_healthy` are methods the server calls: not class attributes, not static."""

import truss_chains as chains


def echo(self, text: str) -> str:
    return text


class Echo(chains.ChainletBase):
    run_remote = echo  # E@11:5: CSC201


class Probe(chains.ChainletBase):
    is_healthy = True  # E@15:5: CSC211

    def run_remote(self, text: str) -> str:
        return text


class Warmup(chains.ChainletBase):
    @staticmethod  # E@22:5: CSC211
    def is_healthy() -> bool:
        return True

    def run_remote(self, text: str) -> str:
        return text


@chains.mark_entrypoint
class Front(chains.ChainletBase):
    def __init__(
        self,
        echo: Echo = chains.depends(Echo),
        probe: Probe = chains.depends(Probe),
        warmup: Warmup = chains.depends(Warmup),
    ) -> None:
        self._echo = echo

    def is_healthy(ready) -> bool:  # E@40:20: CSC211
        return True

    def run_remote(self, text: str) -> str:
        return text
