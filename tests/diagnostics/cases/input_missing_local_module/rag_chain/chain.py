"""A chain in a package: its local imports must name modules that exist."""

import truss_chains as chains

import rag_chain.tokenizer  # E: CSC004
from rag_chain.schemas import Query
from . import prompts  # E: CSC004
from .retrieval import Hit, search_index  # E: CSC004

from .schemas import Query as QueryModel


@chains.mark_entrypoint
class Answerer(chains.ChainletBase):
    # `Hit` comes from the missing module: reported once, at the import, not again here.
    def run_remote(self, query: Query, previous: QueryModel | None = None, hint: Hit | None = None) -> str:
        hits = search_index(query.text, query.top_k)
        return prompts.ANSWER.format(context=hits, question=query.text)
