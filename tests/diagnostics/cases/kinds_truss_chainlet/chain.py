"""TrussChainlets: a Truss directory each (`truss_dir`), no dependencies, called through a handle."""

import truss_chains as chains
from truss_chains.remote_chainlet.truss_chainlet import TrussHandle


class Echo(chains.TrussChainlet):
    truss_dir = "echo"


class Undeclared(chains.TrussChainlet):  # E: CSC345
    pass


class NotAPath(chains.TrussChainlet):
    truss_dir = 123  # E: CSC346


class Missing(chains.TrussChainlet):
    truss_dir = "missing"  # E: CSC347


class NoConfig(chains.TrussChainlet):
    truss_dir = "no_config"  # E: CSC348


class Broken(chains.TrussChainlet):
    truss_dir = "broken"  # E: CSC348


class Outside(chains.TrussChainlet):
    truss_dir = "../elsewhere"  # E: CSC011


class Configured(chains.TrussChainlet):
    remote_config = chains.RemoteConfig(  # W: CSC434
        name="Configured", compute=chains.Compute(cpu_count=4)
    )
    truss_dir = "echo"


class Described(chains.TrussChainlet):
    truss_dir = "echo"


class Helper(chains.ChainletBase):
    def run_remote(self) -> str:
        return "help"


class Calling(chains.TrussChainlet):
    truss_dir = "echo"

    def __init__(self, helper: Helper = chains.depends(Helper)) -> None:  # E: CSC344
        self._helper = helper


@chains.mark_entrypoint
class Caller(chains.ChainletBase):
    def __init__(
        self,
        echo: TrussHandle = chains.depends(Echo),
        a: Undeclared = chains.depends(Undeclared),
        b: chains.TrussChainlet = chains.depends(NotAPath),
        c: TrussHandle = chains.depends(Missing),
        d: TrussHandle = chains.depends(NoConfig),
        e: TrussHandle = chains.depends(Broken),
        f: TrussHandle = chains.depends(Outside),
        g: TrussHandle = chains.depends(Configured),
        h: TrussHandle = chains.depends(Calling),
        i: chains.DeployedServiceDescriptor = chains.depends(Described),  # E: CSC307
        helper: Helper = chains.depends(Helper),
    ) -> None:
        self._echo = echo

    def run_remote(self, text: str) -> str:
        return self._echo.http_call_args().url + text
