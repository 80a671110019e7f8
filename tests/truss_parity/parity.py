"""Truss parity: truss's own framework validation cases, as chain files of our own.

Each file of `cases/` restates one case of truss's `truss-chains/tests/test_framework.py`
(the facts, not the code) as a standalone chain, with what truss does and what chainsc
must say, in comments:

- `# parity: truss rejects` or `# parity: truss accepts`: truss's verdict.
- `# E@LINE:COL: CSCnnn`: one error chainsc must report there, one per mistake; `?` for
  the code when another branch assigns it (with `# parity: pending <branch>`).
- `# parity: deliberate <why>`: chainsc differs from truss on purpose (README's table).
- `# parity: extra`: a rule of truss's source that its `test_framework.py` does not test;
  `# parity: truss-stage push`: a rule truss checks only when it pushes.

`python -m tests.truss_parity.parity [--chainsc PATH]` prints how many cases a `chainsc`
judges as truss does: the figure the issue measured (before and after a change, with the
`chainsc` of each checkout). `test_truss_parity.py` holds every case to its expectations.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

CASES = Path(__file__).resolve().parent / "cases"

_ERROR = re.compile(r"#\s*E@(?P<line>\d+):(?P<col>\d+):\s*(?P<code>CSC\d{3}|\?)")
_PARITY = re.compile(r"^#\s*parity:\s*(?P<key>\S+)\s*(?P<rest>.*)$", re.MULTILINE)

#: (line, column, code): one error; the code `?` stands for any.
Finding = tuple[int, int, str]


@dataclass(frozen=True)
class Case:
    """One restated truss case: truss's verdict and the errors chainsc must report."""

    name: str
    path: Path
    truss_rejects: bool
    expected: tuple[Finding, ...]
    #: Why chainsc differs on purpose ("" when it does not).
    deliberate: str = ""
    #: The branch that assigns the codes left open (`?`), "" when none.
    pending: str = ""
    #: A case of truss's source beyond its `test_framework.py` (`# parity: extra`).
    extra: bool = False
    #: When truss checks it: "import" (the file's import, `run_local`), or "push".
    truss_stage: str = "import"


def load_cases() -> list[Case]:
    """Every case of `cases/`, by name."""
    return [_load(path) for path in sorted(CASES.glob("*.py"))]


def _load(path: Path) -> Case:
    text = path.read_text(encoding="utf-8")
    facts = {m.group("key"): m.group("rest").strip() for m in _PARITY.finditer(text)}
    verdict = facts.get("truss", "")
    if verdict not in ("rejects", "accepts"):
        raise ValueError(f"{path.name}: needs `# parity: truss rejects|accepts`")
    expected = tuple(
        (int(m.group("line")), int(m.group("col")), m.group("code"))
        for m in _ERROR.finditer(text)
    )
    return Case(
        path.stem,
        path,
        verdict == "rejects",
        expected,
        facts.get("deliberate", ""),
        facts.get("pending", ""),
        "extra" in facts,
        facts.get("truss-stage", "import"),
    )


def check(chainsc: Path, case: Case) -> list[Finding]:
    """The errors the real `chainsc check` reports for a case (warnings left out)."""
    completed = subprocess.run(
        [str(chainsc), "check", "--format", "json", case.path.name],
        capture_output=True,
        text=True,
        cwd=case.path.parent,
        env={**os.environ, "PYTHONHASHSEED": "0"},
        check=False,
    )
    if completed.returncode not in (0, 1):
        raise RuntimeError(
            f"{case.name}: chainsc exited {completed.returncode}\n{completed.stderr}"
        )
    return sorted(
        (item["line"], item["col"], item["code"])
        for item in json.loads(completed.stdout)
        if item["severity"] == "error" and item["path"] == case.path.name
    )


def matches(case: Case, errors: list[Finding]) -> bool:
    """Whether the errors are exactly the expected ones (`?` matches any code)."""
    wanted = Counter(f for f in case.expected if f[2] != "?")
    found = Counter(errors)
    if wanted - found:
        return False
    rest = sorted((found - wanted).elements())
    open_codes = sorted((line, col) for line, col, code in case.expected if code == "?")
    return [(line, col) for line, col, _code in rest] == open_codes


def verdict(case: Case, errors: list[Finding]) -> str:
    """How chainsc judged a case next to truss.

    `same`: as truss (accepted, or each mistake reported once, where expected);
    `deliberate`: differs on purpose; `accepted`: truss rejects, chainsc says nothing;
    `misplaced`: rejected, but not exactly as expected; `rejected`: truss accepts, chainsc not.
    """
    if case.deliberate:
        return "deliberate"
    if not case.truss_rejects:
        return "same" if not errors else "rejected"
    if not errors:
        return "accepted"
    return "same" if matches(case, errors) else "misplaced"


def main(argv: list[str] | None = None) -> int:
    """Print each case's verdict and the totals."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--chainsc", type=Path, default=Path(sys.executable).parent / "chainsc"
    )
    args = parser.parse_args(argv)
    totals: dict[bool, Counter[str]] = {False: Counter(), True: Counter()}
    for case in load_cases():
        result = verdict(case, check(args.chainsc, case))
        totals[case.extra][result] += 1
        print(f"{result:11} {case.name}")
    for extra, title in ((False, "test_framework.py cases"), (True, "extra cases")):
        found = totals[extra]
        print(
            f"\n{title}: {found['same']} of {sum(found.values())} judged as truss does; "
            + ", ".join(
                f"{found[key]} {key}"
                for key in ("accepted", "misplaced", "rejected", "deliberate")
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
