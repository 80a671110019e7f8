import truss_chains as chains
from chainsc_generated import helpers
from model import GREETING


class Hello(chains.ChainletBase):
    def run_remote(self, name: str) -> str:
        return helpers.greet(name) + GREETING
