"""truss: test_framework.py::test_import_model_requires_entrypoint. A model class that derives from nothing."""
# parity: truss rejects
# E@1:1: CSC101


class Counter:
    def __init__(self):
        self._calls = 0

    async def predict(self, increment: int) -> int:
        self._calls += increment
        return self._calls
