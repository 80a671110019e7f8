"""truss: test_framework.py::test_raises_init_in_init_subclass. A derived Chainlet built by hand."""
# parity: truss rejects

import truss_chains as chains


class Base(chains.ChainletBase):
    def __init__(self):
        self.base_value = "base"

    async def run_remote(self) -> str:
        return "base"


class Intermediate(Base):
    def __init__(self):
        super().__init__()
        self.added_value = "added"

    async def run_remote(self) -> str:
        return "intermediate"


class Derived(Intermediate):
    def __init__(self):
        super().__init__()
        self.base_value = "overridden"

    async def run_remote(self) -> str:
        return "derived"


@chains.mark_entrypoint
class Outer(chains.ChainletBase):
    def __init__(self, base=chains.depends(Base)):
        self.derived = Derived()  # E@36:24: CSC314
        self.base = base

    async def run_remote(self) -> str:
        return await self.derived.run_remote()
