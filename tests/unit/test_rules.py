"""The rule table: every code is either a rule of `validate` or reported where extraction meets it."""

from __future__ import annotations

from typing import Any

from chainsc.codes import CODES
from chainsc.validate import CHAIN_RULES, RULES, Rule

#: Every rule, over what was seen and over the IR.
ALL_RULES: tuple[Rule[Any], ...] = (*RULES, *CHAIN_RULES)

#: Codes reported where the front end meets what it cannot represent or read: a file,
#: a name, an annotation that is no type, a value that is not static, a dependency that
#: is no Chainlet, a requirement pip would misread; and the checks of what packages carry.
REPORTED_WHERE_MET = frozenset(
    {
        *("CSC001", "CSC002", "CSC003", "CSC004", "CSC005", "CSC006"),
        *("CSC011", "CSC012", "CSC013", "CSC020"),
        # A build option's: `--with` for a chain only Baseten serves (`api.build_file`).
        "CSC014",
        *("CSC113", "CSC206", "CSC207", "CSC210", "CSC212"),
        *("CSC301", "CSC302", "CSC309"),
        *(f"CSC4{n:02d}" for n in range(1, 16)),
        # What an engine builder's or a TrussChainlet's values say (`chainsc.kinds`).
        *("CSC341", "CSC342", "CSC346", "CSC347", "CSC348"),
        *("CSC430", "CSC431", "CSC432", "CSC433", "CSC434"),
        *("CSC450", "CSC460", "CSC461", "CSC462"),
        "CSC901",
    }
)


def test_every_rule_reports_documented_codes_and_says_which() -> None:
    seen: set[str] = set()
    for rule in ALL_RULES:
        assert rule.codes, rule
        assert all(code in CODES for code in rule.codes), rule.codes
        assert not seen & set(rule.codes), f"two rules report {seen & set(rule.codes)}"
        seen |= set(rule.codes)
        doc = rule.check.__doc__ or ""
        for code in rule.codes:
            assert code in doc, (
                f"{rule.check.__name__} does not name {code} in its docstring"
            )
        assert len(rule.summaries) == len(rule.codes)


def test_every_code_has_a_place() -> None:
    in_rules = {code for rule in ALL_RULES for code in rule.codes}
    unplaced = set(CODES) - in_rules - REPORTED_WHERE_MET
    assert not unplaced, (
        f"codes neither in a rule nor reported where met: {sorted(unplaced)}"
    )
    assert not REPORTED_WHERE_MET - set(CODES)
