"""Chainlets made by a factory function cannot be found without running it."""

import truss_chains as chains


def make_chainlet(greeting: str) -> type:
    class Greeter(chains.ChainletBase):  # E: CSC111
        def run_remote(self, name: str) -> str:
            return f"{greeting}, {name}"

    return Greeter


@chains.mark_entrypoint
class Hello(chains.ChainletBase):
    def run_remote(self, name: str) -> str:
        return f"Hello, {name}"
