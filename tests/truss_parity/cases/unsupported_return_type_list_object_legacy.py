"""truss: test_framework.py::test_raises_unsupported_return_type_list_object_legacy. `typing.List[object]` too."""
# parity: truss rejects

from typing import List

import pydantic

import truss_chains as chains


class Item(pydantic.BaseModel):
    size: int


class Lister(chains.ChainletBase):
    def run_remote(self) -> List[object]:  # E@16:34: CSC206
        return [Item(size=0)]
