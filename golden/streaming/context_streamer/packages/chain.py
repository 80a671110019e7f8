"""Streaming chat: the entrypoint streams generated text back to the client.

`ContextStreamer` streams plain strings, `TokenGenerator` streams typed data
(header, token items, footer) using the `truss_chains.streaming` helpers, and the
`StreamingChat` entrypoint consumes both streams while streaming its own output.
"""

import typing

import chainsc_runtime as chains
from chainsc_runtime import streaming

KNOWLEDGE_BASE = {
    "chains": "Chains connect several deployed Chainlets into one pipeline.",
    "streaming": "Streaming endpoints must be async generators.",
    "gpu": "GPU Chainlets declare their accelerator in remote_config.",
}


class ContextStreamer(chains.ChainletBase):
    """Streams knowledge-base snippets relevant to a prompt, one line at a time."""

    async def run_remote(self, prompt: str) -> typing.AsyncIterator[str]:
        for keyword, snippet in KNOWLEDGE_BASE.items():
            if keyword in prompt.lower():
                yield snippet + "\n"
