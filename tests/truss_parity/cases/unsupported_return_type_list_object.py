"""truss: test_framework.py::test_raises_unsupported_return_type_list_object. `list[object]` is no I/O type."""
# parity: truss rejects

import pydantic

import truss_chains as chains


class Item(pydantic.BaseModel):
    size: int


class Lister(chains.ChainletBase):
    def run_remote(self) -> list[object]:  # E@14:34: CSC206
        return [Item(size=0)]
