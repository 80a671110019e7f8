"""`truss_chains` features that only a Baseten deployment has: reported where written.

A `push` under `if __name__ == "__main__":` is fine: chainsc leaves that block out.
"""

import truss_chains as chains
from truss_chains import push  # E: CSC006
from truss_chains.deployment import deployment_client  # E: CSC006
from truss_chains.public_types import ServiceDescriptorUrls  # E: CSC006


@chains.mark_entrypoint
class Ask(chains.ChainletBase):
    def run_remote(self, prompt: str) -> str:
        request = chains.EngineBuilderLLMInput(prompt=prompt)
        chains.push(Ask, "again")  # E: CSC006
        return str(request)


if __name__ == "__main__":
    chains.push(Ask, "ask")
