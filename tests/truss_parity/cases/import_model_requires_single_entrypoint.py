"""truss: test_framework.py::test_import_model_requires_single_entrypoint. Two models in one file."""
# parity: truss rejects

import truss_chains as chains


class FirstCounter(chains.ModelBase):  # E@7:7: CSC102
    def __init__(self):
        self._calls = 0

    async def predict(self, increment: int) -> int:
        self._calls += increment
        return self._calls


class SecondCounter(chains.ModelBase):
    def __init__(self):
        self._calls = 0

    async def predict(self, increment: int) -> int:
        self._calls += increment
        return self._calls
