"""CPython's compiler refuses what its grammar allows: a keyword argument given twice (CSC002)."""

import truss_chains as chains

OPTIONS = dict(retries=1, retries=2)  # E: CSC002


class Counter(chains.ChainletBase):
    def run_remote(self, text: str) -> int:
        return len(text)
