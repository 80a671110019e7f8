"""Two Chainlets are both marked as the entrypoint."""

import truss_chains as chains


@chains.mark_entrypoint
class Uploader(chains.ChainletBase):
    def run_remote(self, url: str) -> str:
        return url


@chains.mark_entrypoint("Downloader")  # E: CSC103
class Downloader(chains.ChainletBase):
    def run_remote(self, url: str) -> bytes:
        return url.encode()
