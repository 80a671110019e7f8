"""`run_remote` must be a plain (or async) instance method taking `self`."""

import truss_chains as chains


class Lowercase(chains.ChainletBase):
    @staticmethod  # E: CSC201
    def run_remote(text: str) -> str:
        return text.lower()


class Uppercase(chains.ChainletBase):
    @classmethod  # E: CSC201
    def run_remote(cls, text: str) -> str:
        return text.upper()


class Length(chains.ChainletBase):
    @property  # E: CSC201
    def run_remote(self) -> int:
        return 0


class Reverse(chains.ChainletBase):
    def run_remote(text: str) -> str:  # E: CSC201
        return text[::-1]


@chains.mark_entrypoint
class Formatter(chains.ChainletBase):
    def __init__(
        self,
        lower: Lowercase = chains.depends(Lowercase),
        upper: Uppercase = chains.depends(Uppercase),
        length: Length = chains.depends(Length),
        reverse: Reverse = chains.depends(Reverse),
    ) -> None:
        self._lower = lower
        self._upper = upper
        self._length = length
        self._reverse = reverse

    def run_remote(self, text: str) -> str:
        return self._reverse.run_remote(self._lower.run_remote(text))
