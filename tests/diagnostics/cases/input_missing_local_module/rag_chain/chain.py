"""A chain in a package: its local imports must name modules that exist."""

import truss_chains as chains

import rag_chain.tokenizer  # E: CSC004
from rag_chain.schemas import Query
from . import prompts  # E: CSC004
from .retrieval import search_index  # E: CSC004

from .schemas import Query as QueryModel


@chains.mark_entrypoint
class Answerer(chains.ChainletBase):
    def run_remote(self, query: Query, previous: QueryModel | None = None) -> str:
        hits = search_index(query.text, query.top_k)
        return prompts.ANSWER.format(context=hits, question=query.text)
