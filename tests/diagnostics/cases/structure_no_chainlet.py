# E@1:1: CSC101
"""The class below forgot its base: `chains.ChainletBase`."""

import pydantic
import truss_chains as chains


class Request(pydantic.BaseModel):
    text: str


@chains.mark_entrypoint  # E: CSC110
class Classifier:
    def run_remote(self, request: Request) -> str:
        return request.text
