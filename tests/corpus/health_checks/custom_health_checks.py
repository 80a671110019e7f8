import truss_chains as chains


class ToggleHealth(chains.ChainletBase):
    """Reports itself unhealthy after a call asks it to."""

    def __init__(self):
        self._healthy = True

    def is_healthy(self) -> bool:
        return self._healthy

    async def run_remote(self, break_it: bool) -> str:
        self._healthy = not break_it
        return "healthy" if self._healthy else "unhealthy from now on"
