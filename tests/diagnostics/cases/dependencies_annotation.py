"""A dependency's annotation must be its Chainlet, one of its bases, or a Protocol."""

from typing import Protocol

import truss_chains as chains


class Translator(Protocol):
    def run_remote(self, text: str) -> str: ...


class English(chains.ChainletBase):
    def run_remote(self, text: str) -> str:
        return text


class German(chains.ChainletBase):
    def run_remote(self, text: str) -> str:
        return text


@chains.mark_entrypoint
class Localizer(chains.ChainletBase):
    def __init__(
        self,
        english: Translator = chains.depends(English),
        german: English = chains.depends(German),  # E: CSC307
        french: "str" = chains.depends(English, retries=2),  # E: CSC307, CSC306
    ) -> None:
        self._english = english
        self._german = german

    def run_remote(self, text: str) -> str:
        return self._german.run_remote(text)
