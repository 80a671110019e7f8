import asyncio
import time

import truss_chains as chains


class SlowAsync(chains.ChainletBase):
    async def run_remote(self) -> bool:
        await asyncio.sleep(2)
        return True


class SlowSync(chains.ChainletBase):
    def run_remote(self) -> bool:
        time.sleep(2)
        return True


@chains.mark_entrypoint  # ("Timeout Chain")
class TimeoutFront(chains.ChainletBase):
    def __init__(
        self,
        slow=chains.depends(SlowAsync, timeout_sec=0.25),
        slow_sync=chains.depends(SlowSync, timeout_sec=0.25),
    ):
        self._slow = slow
        self._slow_sync = slow_sync

    async def run_remote(self, use_sync: bool) -> None:
        if use_sync:
            print(self._slow_sync.run_remote())
        else:
            print(await self._slow.run_remote())
