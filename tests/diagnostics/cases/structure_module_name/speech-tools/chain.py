# E@1:1: CSC010
"""Generated code imports this file as `speech-tools.chain`: not a Python module name."""

import truss_chains as chains


class Transcriber(chains.ChainletBase):
    def run_remote(self, audio_url: str) -> str:
        return audio_url
