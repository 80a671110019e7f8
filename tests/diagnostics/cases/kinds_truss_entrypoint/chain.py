"""A TrussChainlet only receives calls: it cannot be the entrypoint."""

import truss_chains as chains


@chains.mark_entrypoint  # E: CSC349
class Echo(chains.TrussChainlet):
    truss_dir = "echo"
