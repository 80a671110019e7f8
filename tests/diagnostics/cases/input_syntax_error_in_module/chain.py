"""A syntax error in a local module stops the check: its names cannot be known."""

import truss_chains as chains
from schemas import Query


@chains.mark_entrypoint
class Search(chains.ChainletBase):
    def run_remote(self, query: Query) -> list[str]:
        return [query.text]
