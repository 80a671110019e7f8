"""Generators of hostile chain files: deep expressions, long chains of names.

Test helpers (not tests): `tests/test_deep_input.py` and `tests/test_fuzz.py`
feed what these write to the real compiler.
"""

from __future__ import annotations

#: Deep expressions, by kind: `n` terms, operators or levels. Numeric kinds fit `cpu_count`.
EXPRESSIONS: dict[str, str] = {
    "sum": "{ones}",
    "unary_minus": "{minuses}1",
    "implicit_concat": "{strings}",
    "plus_concat": "{plus_strings}",
    "or_chain": "{ors}",
    "attribute_chain": "chains{attributes}",
    "call_chain": "len{calls}",
    "subscript_chain": "x{subscripts}",
    "nested_lists": "{lists}",
    "conditional_chain": "{conditionals}1",
    "lambda_chain": "{lambdas}1",
    "not_chain": "{nots}1",
    "power_chain": "{powers}",
    "comparison_chain": "{comparisons}",
    "fstring_concat": "{fstrings}",
}

#: Kinds whose value is a number (they fit `cpu_count` when statically known).
NUMERIC = frozenset({"sum", "unary_minus", "power_chain"})


def deep_expression(kind: str, n: int) -> str:
    """An expression of `kind` with `n` terms (or levels): `sum` 3 is `1 + 1 + 1`."""
    if kind == "sum":
        return " + ".join(["1"] * n)
    if kind == "unary_minus":
        return "-" * n + "1"
    if kind == "implicit_concat":
        return " ".join(['"a"'] * n)
    if kind == "plus_concat":
        return " + ".join(['"a"'] * n)
    if kind == "or_chain":
        return " or ".join(["x"] * n)
    if kind == "attribute_chain":
        return "chains" + ".a" * n
    if kind == "call_chain":
        return "len" + "()" * n
    if kind == "subscript_chain":
        return "x" + "[0]" * n
    if kind == "nested_lists":
        depth = min(n, 199)  # CPython refuses 200 nested brackets
        return "[" * depth + "]" * depth
    if kind == "conditional_chain":
        return "1 if x else " * n + "1"
    if kind == "lambda_chain":
        return "lambda: " * n + "1"
    if kind == "not_chain":
        return "not " * n + "1"
    if kind == "power_chain":
        return " ** ".join(["1"] * n)
    if kind == "comparison_chain":
        return " < ".join(["1"] * n)
    if kind == "fstring_concat":
        return " ".join(['f"{x}"'] * n)
    raise ValueError(f"unknown kind {kind}")


#: Where a deep expression goes in a chain file.
SLOTS = (
    "cpu_count",
    "pip_requirement",
    "module_constant",
    "default",
    "annotation",
    "body",
    "class_attribute",
    "decorator",
)

_CHAIN = """\
import truss_chains as chains

x = 1
{prelude}

@chains.mark_entrypoint
class Entry(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        compute=chains.Compute(cpu_count={cpu_count}),
        docker_image=chains.DockerImage(pip_requirements=[{pip_requirement}]),
    )
{class_body}
    def run_remote(self, value: {annotation} = {default}) -> int:
        y = {body}
        return 1
"""


def chain_with(slot: str, expression: str) -> str:
    """A one-Chainlet chain with `expression` in `slot` (one of SLOTS)."""
    fields = {
        "prelude": "",
        "cpu_count": "1",
        "pip_requirement": '"numpy"',
        "class_body": "",
        "annotation": "int",
        "default": "1",
        "body": "0",
    }
    if slot == "module_constant":
        fields["prelude"] = f"DEEP = {expression}\n"
    elif slot == "class_attribute":
        fields["class_body"] = f"    deep = {expression}\n"
    elif slot == "decorator":
        fields["prelude"] = f"@({expression})\ndef helper() -> None:\n    pass\n"
    else:
        fields[slot] = expression
    return _CHAIN.format(**fields)


def elif_chain(n: int) -> str:
    """A chain file whose module level has an `if` with `n` `elif` branches."""
    branches = "".join(f"elif x == {i}:\n    y = {i}\n" for i in range(n))
    return chain_with("module_constant", "1").replace(
        "DEEP = 1\n", f"if x:\n    y = 0\n{branches}"
    )


def alias_chain(n: int) -> str:
    """`C1 = C0`, `C2 = C1`, ... `Cn`, used as `cpu_count`."""
    prelude = "C0 = 1\n" + "".join(f"C{i} = C{i - 1}\n" for i in range(1, n + 1))
    return chain_with("cpu_count", f"C{n}").replace("x = 1\n", f"x = 1\n{prelude}")


def class_alias_chain(n: int) -> str:
    """A dependency named through `n` aliases of its class: `K1 = K0`, `K2 = K1`, ..."""
    prelude = (
        "class Dep(chains.ChainletBase):\n    def run_remote(self) -> int:\n        return 1\n\n\n"
        "K0 = Dep\n" + "".join(f"K{i} = K{i - 1}\n" for i in range(1, n + 1))
    )
    text = chain_with("cpu_count", "1").replace("x = 1\n", f"x = 1\n{prelude}")
    return text.replace(
        "    def run_remote(self, value",
        f"    def __init__(self, dep=chains.depends(K{n})) -> None:\n        self.dep = dep\n\n    def run_remote(self, value",
    )


def type_alias_chain(n: int) -> str:
    """An endpoint parameter typed through `n` type aliases: `T1 = T0`, ... (T0 = int)."""
    prelude = "T0 = int\n" + "".join(f"T{i} = T{i - 1}\n" for i in range(1, n + 1))
    return chain_with("annotation", f"T{n}").replace("x = 1\n", f"x = 1\n{prelude}")


def nested_value_chain(n: int) -> str:
    """Values built of values: `V1 = [V0]`, `V2 = [V1]`, ..., one name per level."""
    prelude = 'V0 = "numpy"\n' + "".join(
        f"V{i} = [V{i - 1}]\n" for i in range(1, n + 1)
    )
    return chain_with("pip_requirement", f"*V{n}").replace(
        "x = 1\n", f"x = 1\n{prelude}"
    )


def model_chain(n: int) -> str:
    """Pydantic models each holding the previous one: `M1(m: M0)`, ..., the endpoint takes `Mn`."""
    models = "class M0(pydantic.BaseModel):\n    v: int\n\n\n" + "".join(
        f"class M{i}(pydantic.BaseModel):\n    m: M{i - 1}\n\n\n"
        for i in range(1, n + 1)
    )
    text = chain_with("annotation", f"M{n}").replace("x = 1\n", f"x = 1\n{models}")
    return text.replace("= 1) -> int:", ") -> int:").replace(
        "import truss_chains", "import pydantic\nimport truss_chains"
    )


def inheritance_chain(n: int) -> str:
    """Models each a subclass of the previous one: `class B1(B0)`, ..., the endpoint takes `Bn`."""
    models = "class B0(pydantic.BaseModel):\n    v: int\n\n\n" + "".join(
        f"class B{i}(B{i - 1}):\n    v{i}: int = 0\n\n\n" for i in range(1, n + 1)
    )
    text = chain_with("annotation", f"B{n}").replace("x = 1\n", f"x = 1\n{models}")
    return text.replace("= 1) -> int:", ") -> int:").replace(
        "import truss_chains", "import pydantic\nimport truss_chains"
    )


def chainlet_inheritance_chain(n: int) -> str:
    """Chainlet base classes each a subclass of the previous one; the entrypoint derives from the last."""
    bases = (
        "class Base0(chains.ChainletBase):\n    def run_remote(self) -> int:\n        return 0\n\n\n"
        + "".join(
            f"class Base{i}(Base{i - 1}):\n    pass\n\n\n" for i in range(1, n + 1)
        )
    )
    text = chain_with("cpu_count", "1").replace("x = 1\n", f"x = 1\n{bases}")
    return text.replace("class Entry(chains.ChainletBase)", f"class Entry(Base{n})")


def reexport_modules(n: int) -> dict[str, str]:
    """Files of a chain whose `cpu_count` is re-exported through `n` modules (m1 from m2 ...)."""
    files = {f"m{i}.py": f"from m{i + 1} import CPU\n" for i in range(1, n)}
    files[f"m{n}.py"] = "CPU = 2\n"
    files["chain.py"] = chain_with("cpu_count", "CPU").replace(
        "x = 1\n", "x = 1\nfrom m1 import CPU\n"
    )
    return files


def import_cycle_modules() -> dict[str, str]:
    """A chain importing `CPU` from `helpers`, which imports it back from the chain."""
    return {
        "chain.py": chain_with("cpu_count", "CPU").replace(
            "x = 1\n", "x = 1\nfrom helpers import CPU\n"
        ),
        "helpers.py": "from chain import CPU\n",
    }


def attribute_cycle_modules() -> dict[str, str]:
    """`X = helpers.X` in the chain and `X = chain.X` in helpers: a cycle through attributes."""
    return {
        "chain.py": chain_with("cpu_count", "X").replace(
            "x = 1\n", "x = 1\nimport helpers\n\nX = helpers.X\n"
        ),
        "helpers.py": "import chain\n\nX = chain.X\n",
    }
