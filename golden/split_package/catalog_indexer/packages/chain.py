"""Indexes product-catalog items: splits descriptions and computes term statistics.

The splitting Chainlet and the I/O models come from the local `user_package`, so the
chain spans several files; `user_package.heavy` imports numpy/torch at module level.
"""

import asyncio

import chainsc_runtime as chains
from user_package import heavy
from user_package import shared_chainlet
from user_package.models import IndexEntry, Item

BLOCK_WORDS = 40


@chains.mark_entrypoint("catalog-indexer")
class CatalogIndexer(chains.ChainletBase):
    """Splits every item description into blocks and indexes each block."""

    def __init__(
        self,
        splitter: shared_chainlet.SplitText = chains.depends(shared_chainlet.SplitText),
    ) -> None:
        self._splitter = splitter

    async def run_remote(self, items: list[Item]) -> list[IndexEntry]:
        splits = await asyncio.gather(
            *(self._splitter.run_remote(item.description, BLOCK_WORDS) for item in items)
        )
        entries: list[IndexEntry] = []
        for item, split in zip(items, splits, strict=True):
            for block in split.blocks:
                entries.append(
                    IndexEntry(
                        sku=item.sku,
                        block_index=block.index,
                        text=block.text,
                        top_terms=heavy.top_terms(block.text),
                        norm=heavy.l2_norm(heavy.term_vector(block.text)),
                    )
                )
        return entries
