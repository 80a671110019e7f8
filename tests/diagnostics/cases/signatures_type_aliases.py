"""Aliases are resolved statically: one of a type that cannot be I/O is reported where it is defined."""

from typing import TypeAlias

import pydantic
import truss_chains as chains
from pydantic import condecimal, conset

Tags = conset(str)  # E: CSC206
Price = condecimal(gt=0)  # fine in a pydantic model, not as an endpoint's own type
Handlers: TypeAlias = set[int]  # E: CSC206
Tree = list["Tree"]  # E: CSC206
LIMIT = 10


class Record(pydantic.BaseModel):
    tags: Tags
    kind: type(int)  # E: CSC206


class Catalog(chains.ChainletBase):
    def run_remote(
        self,
        record: Record,
        price: Price,  # E: CSC206
        handlers: Handlers,
        tree: Tree,
        limit: LIMIT,  # E: CSC206
    ) -> int:
        return 0
