"""Content moderation built from a family of checker Chainlets sharing one base class.

`BaseChecker` holds the shared `remote_config`, `__init__` and a default keyword
`run_remote`; subclasses only change what differs. `LanguageDetector` is a
standalone `chains.ModelBase` (pushed on its own with `truss push`).
"""

from chainsc_runtime import (
    ChainletBase as Base,
    depends,
)


class UsageMeter(Base):
    """Counts moderation requests; takes no input and returns nothing."""

    def __init__(self) -> None:
        self._count = 0

    def run_remote(self) -> None:
        self._count += 1
