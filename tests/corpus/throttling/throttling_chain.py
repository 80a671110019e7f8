import asyncio

import truss_chains as chains


class SlowDependency(chains.ChainletBase):
    # The dependency itself does not throttle.
    remote_config = chains.RemoteConfig(compute=chains.Compute(predict_concurrency=64))

    async def run_remote(self) -> bool:
        await asyncio.sleep(0.2)
        return True


@chains.mark_entrypoint
class Throttled(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        options=chains.ChainletOptions(enable_debug_logs=True)
    )

    def __init__(self, dependency=chains.depends(SlowDependency, concurrency_limit=3)):
        self._dependency = dependency
        # Report queueing at once, as Truss's own throttling test chain does.
        dependency._async_semaphore_wrapper._log_interval_sec = 0.0

    async def run_remote(self, num_requests: int = 6) -> float:
        loop = asyncio.get_event_loop()
        started = loop.time()
        await asyncio.gather(*(self._dependency.run_remote() for _ in range(num_requests)))
        return loop.time() - started
