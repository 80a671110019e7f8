"""Truss parity: each of truss's framework validation cases, judged as truss does.

The real `chainsc check` runs on every case of `cases/` (see `parity.py`): exactly one
error per mistake, with its code, line and column; nothing for a chain truss accepts.
Cases whose codes another branch assigns (`# parity: pending ...`) are expected to fail
until it lands.
"""

from __future__ import annotations

import pytest

from tests.conftest import CHAINSC
from tests.truss_parity.parity import Case, check, load_cases, matches

CASES = load_cases()


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_case(case: Case) -> None:
    errors = check(CHAINSC, case)
    if case.pending and not matches(case, errors):
        pytest.xfail(f"the codes of this case come with {case.pending}")
    assert matches(case, errors), (
        f"{case.name}: expected {sorted(case.expected)}, got {errors}"
    )
    if not case.truss_rejects:
        assert not errors


def test_cases_state_what_truss_does() -> None:
    assert len(CASES) >= 49
    for case in CASES:
        # A case truss rejects names each mistake, unless chainsc accepts it on purpose.
        assert bool(case.expected) == (case.truss_rejects and not case.deliberate), (
            case.name
        )
        assert all(code != "?" for *_, code in case.expected) or case.pending, case.name
