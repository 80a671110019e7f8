"""`docs/truss_chains_surface.md` read as data: one `Row` per public truss_chains name."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tests.conftest import REPO

DOC = REPO / "docs" / "truss_chains_surface.md"
_ROW = re.compile(
    r"^\| `(?P<module>[\w.]+)` \| `(?P<name>\w+)` \| (?P<status>.+?) \| (?P<tests>.+?) \|$"
)
_ERROR = re.compile(r"^(?P<code>CSC\d{3}): (?P<message>.+)$")


@dataclass(frozen=True)
class Row:
    """One row: a name of a truss_chains module and what chainsc does with it."""

    module: str
    name: str
    #: None when the runtime provides the name, else the build error's code.
    code: str | None
    message: str | None
    tests: str

    @property
    def path(self) -> list[str]:
        """`truss_chains.streaming.stream_writer` as its parts."""
        return [*self.module.split("."), self.name]


def rows() -> list[Row]:
    """The table's rows, in the order of the file."""
    found: list[Row] = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = _ROW.match(line)
        if match is None:
            continue
        status = match.group("status")
        error = _ERROR.match(status)
        if error is None and not status.startswith("provided"):
            raise ValueError(
                f"{DOC}: a status is `provided...` or `CSC00n: message`: {line}"
            )
        found.append(
            Row(
                module=match.group("module"),
                name=match.group("name"),
                code=error.group("code") if error else None,
                message=error.group("message") if error else None,
                tests=match.group("tests"),
            )
        )
    return found
