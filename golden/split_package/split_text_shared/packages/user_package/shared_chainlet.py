"""A reusable text-splitting Chainlet, shared by several chains.

Its requirements file lives next to this module and is referenced with
`chains.make_abs_path_here`, which resolves relative to *this* file.
"""

import chainsc_runtime as chains

from .models import SplitResult, TextBlock

MAX_BLOCKS = 64


class SplitText(chains.ChainletBase):
    """Splits text into blocks of at most `max_block_words` words."""

    async def run_remote(self, text: str, max_block_words: int = 50) -> SplitResult:
        words = text.split()
        blocks = [
            TextBlock(
                index=i // max_block_words,
                text=" ".join(words[i : i + max_block_words]),
                num_words=len(words[i : i + max_block_words]),
            )
            for i in range(0, len(words), max_block_words)
        ]
        return SplitResult(blocks=blocks[:MAX_BLOCKS], truncated=len(blocks) > MAX_BLOCKS)
