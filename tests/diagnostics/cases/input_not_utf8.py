# E@2:50: CSC001
"""Greeter chain, saved by an editor in Latin-1: é is not UTF-8."""

import truss_chains as chains


class Greeter(chains.ChainletBase):
    def run_remote(self, name: str) -> str:
        return f"Bonjour, {name}"
