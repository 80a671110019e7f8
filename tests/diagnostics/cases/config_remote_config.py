"""`remote_config` must be a `chains.RemoteConfig(...)`."""

import truss_chains as chains

COMPUTE = chains.Compute(cpu_count=2, memory="2Gi")


class Worker(chains.ChainletBase):
    remote_config = COMPUTE  # E: CSC411

    def run_remote(self, job: str) -> str:
        return job


@chains.mark_entrypoint
class Scheduler(chains.ChainletBase):
    remote_config = {"compute": {"cpu_count": 2}}  # E: CSC411

    def __init__(self, worker: Worker = chains.depends(Worker)) -> None:
        self._worker = worker

    def run_remote(self, job: str) -> str:
        return self._worker.run_remote(job)
