"""truss: test_framework.py::test_ok_with_subclass. Chainlets derived from Chainlets, injected."""
# parity: truss accepts

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
class Combined(chains.ChainletBase):
    def __init__(self, a=chains.depends(Base), b=chains.depends(Derived)):
        self.a = a
        self.b = b

    async def run_remote(self) -> str:
        return await self.a.run_remote() + " " + await self.b.run_remote()


if __name__ == "__main__":
    import asyncio

    with chains.run_local():
        chain = Combined()
        print(asyncio.run(chain.run_remote()))
