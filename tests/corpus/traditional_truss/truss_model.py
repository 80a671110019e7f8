import truss_chains as chains


class CountingModel(chains.ModelBase):
    remote_config = chains.RemoteConfig(
        compute=chains.Compute(2, "1Gi"), name="RenamedCountingModel"
    )

    def __init__(self):
        self._total = 0

    async def predict(self, increment: int) -> int:
        self._total += increment
        return self._total
