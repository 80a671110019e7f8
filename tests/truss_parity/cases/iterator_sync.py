"""truss: test_framework.py::test_raises_iterator_sync. A sync generator endpoint.

Truss streams only from async endpoints; chainsc serves a sync generator as a
streaming endpoint too (the runtime iterates it in a thread).
"""
# parity: truss rejects
# parity: deliberate sync generators are streaming endpoints

from typing import Iterator

import truss_chains as chains


class Streamer(chains.ChainletBase):
    def run_remote(self) -> Iterator[str]:
        yield "123"
