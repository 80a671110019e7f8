"""Deterministic generator of chain layouts: many ways to lay out one small, checkable chain.

Why: whether a generated package imports depends on how the user laid the chain out (the
chain file's name relative to `chainsc_generated`, where the I/O types live, whether they
come before or after the Chainlets, which modules hold which Chainlets, how names are
imported). `tests/test_layouts.py` builds every layout and imports each package in a fresh
interpreter; a subset is served and called.

Every layout is the same chain in spirit: an entrypoint `Entry` depends on 1-4 workers, each
of a different kind (pydantic I/O with a default from a module constant, a nested class as
type, a type alias, an async `str` stream, a `bytes` stream (async, or sync: chainsc serves
sync streams, Truss does not), a binary dependency with a bytes field, an inherited Chainlet, a Chainlet that itself depends on another), and returns
one part per worker, computed through that worker: a call's answer proves every hop ran.
`Layout.expected` is that answer, computed here by the same rules; every layout with
`truss_valid` runs under Truss's own `run_local` and gives it (`tests/test_layouts.py`).

Dimensions, combined (the file name and the types' home are crossed exhaustively; the rest
is drawn from a seeded RNG): the chain file's name on both sides of `chainsc_generated` and
`chainsc_runtime`; the I/O types before the Chainlets, after them (string annotations or
`from __future__ import annotations`: chainsc accepts both, Truss rejects both), in a
sibling module, in a package, a nested package or a namespace package; `from m import X`,
`import m` + `m.X` or `import pkg.m` + `pkg.m.X`; relative imports inside a package; each
worker in the chain file, a sibling module or a package module; the Chainlet base class in
the same or another module; sync and async endpoints; `import truss_chains as chains` or
`from truss_chains import ChainletBase, depends, mark_entrypoint`; the entrypoint returning
a model, a string or a stream.

`python -m tests.layouts.generate OUT_DIR [COUNT]` writes the layouts out for reading.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SEED = 20250711

#: Chain file names: before `chainsc_generated` (app, chain, chainsc_app), between it and
#: `chainsc_runtime` (chainsc_hub), after both (chainsc_zzz, main, pipeline, poems, zeta).
ENTRY_MODULES = (
    "app",
    "chain",
    "chainsc_app",
    "chainsc_hub",
    "chainsc_zzz",
    "main",
    "pipeline",
    "poems",
    "zeta",
)
#: Where the I/O types live.
TYPE_HOMES = (
    "chain_before",
    "chain_after",
    "sibling",
    "package",
    "nested_package",
    "namespace",
)
#: Sibling module names, again on both sides of the generated names.
SIBLING_TYPES = ("aaa_types", "chainsc_io", "io_types", "zz_types")
SIBLING_WORKERS = ("aaa_workers", "chainsc_helpers", "workers", "zz_workers")
SIBLING_BASES = ("aaa_bases", "bases", "chainsc_bases", "zz_bases")
PACKAGES = ("aaa_package", "user_package", "zz_package")
#: Worker kinds: what each exercises is in the module docstring.
KINDS = (
    "scorer",
    "nested",
    "alias",
    "str_stream",
    "bytes_stream",
    "binary",
    "inherited",
    "deep",
)
#: Front-end features that may not be supported yet: layouts that need them are only
#: generated when asked for (see `generate(features=...)`).
OPTIONAL_FEATURES = frozenset({"type_alias", "dotted_namespace"})

_WORDS = (
    "delta",
    "alpha",
    "kilo",
    "echo",
    "bravo",
    "hotel",
    "lima",
    "golf",
    "india",
    "juliet",
)


@dataclass(frozen=True, slots=True)
class Layout:
    """One chain laid out as files, what to call it with and what it must answer."""

    name: str
    #: Relative POSIX path to file text; the chain file and every local module.
    files: dict[str, str]
    #: Relative path of the chain file (to build).
    chain_file: str
    #: The entrypoint's JSON arguments.
    request: dict[str, object]
    #: The entrypoint's JSON answer; for a streaming entrypoint, the whole text streamed.
    expected: object
    streaming: bool
    #: False when Truss itself would reject the chain (string annotations).
    truss_valid: bool
    #: Sorted tags of what this layout exercises (`types:sibling`, `kind:binary`, ...).
    features: tuple[str, ...]
    #: Class names of the Chainlets the entrypoint reaches (one package each).
    chainlets: tuple[str, ...]
    #: Optional front-end features the layout needs (subset of OPTIONAL_FEATURES).
    needs: frozenset[str] = frozenset()

    def write(self, directory: Path) -> Path:
        """Write the files under `directory`; return the chain file's path."""
        for relative, text in self.files.items():
            path = directory / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        return directory / self.chain_file


# -- modules ---------------------------------------------------------------------------


@dataclass(slots=True)
class _Module:
    """A user module being written: its blocks refer to names as `<<Name>>`."""

    name: str  # dotted module name
    path: str
    api_form: str  # "alias" | "from"
    import_style: (
        str  # how this module imports user names: "names" | "module" | "dotted"
    )
    relative: bool = (
        False  # inside a package: import siblings of the package relatively
    )
    future: bool = False
    string_annotations: bool = False  # quote annotations marked [[...]]
    header: list[str] = field(default_factory=list)  # stdlib / third-party imports
    constants: list[str] = field(default_factory=list)
    early: list[str] = field(default_factory=list)  # blocks before `blocks`
    blocks: list[str] = field(default_factory=list)
    late: list[str] = field(
        default_factory=list
    )  # blocks after `blocks` (types "after")


class _Program:
    """The modules of one layout and where each user name is defined."""

    def __init__(self) -> None:
        self.modules: dict[str, _Module] = {}
        self.homes: dict[str, str] = {}  # user name -> module name

    def add(self, module: _Module) -> _Module:
        return self.modules.setdefault(module.name, module)

    def define(self, name: str, module: _Module) -> None:
        assert name not in self.homes, name
        self.homes[name] = module.name

    def render(self) -> dict[str, str]:
        files = {}
        for module in self.modules.values():
            files[module.path] = self._render(module)
        for module in list(self.modules.values()):
            parts = module.path.split("/")[:-1]
            for depth in range(1, len(parts) + 1):
                package = "/".join(parts[:depth])
                if not package.startswith("ns_"):  # namespace packages have no __init__
                    files.setdefault(f"{package}/__init__.py", "")
        return dict(sorted(files.items()))

    def _render(self, module: _Module) -> str:
        imports: set[str] = set()
        from_imports: dict[str, set[str]] = {}
        api_names: set[str] = set()

        def resolve(text: str) -> str:
            out = []
            rest = text
            while "<<" in rest:
                before, _, after = rest.partition("<<")
                name, _, rest = after.partition(">>")
                out.append(before)
                out.append(
                    self._reference(module, name, imports, from_imports, api_names)
                )
            out.append(rest)
            return "".join(out)

        def quote(text: str) -> str:
            out = []
            rest = text
            while "[[" in rest:
                before, _, after = rest.partition("[[")
                annotation, _, rest = after.partition("]]")
                out.append(before)
                out.append(
                    f'"{annotation}"' if module.string_annotations else annotation
                )
            out.append(rest)
            return "".join(out)

        body = [
            quote(resolve(block))
            for block in (
                *module.constants,
                *module.early,
                *module.blocks,
                *module.late,
            )
        ]
        if module.api_form == "alias" and "chains" in api_names:
            imports.add("import truss_chains as chains")
        elif api_names - {"chains"}:
            from_imports.setdefault("truss_chains", set()).update(
                api_names - {"chains"}
            )
        lines = ['"""Generated layout module (tests/layouts/generate.py)."""', ""]
        if module.future:
            lines += ["from __future__ import annotations", ""]
        header = sorted(set(module.header))
        for group in (
            [line for line in header if line != "import pydantic"],
            ["import pydantic"],
        ):
            if any(line in header for line in group):
                lines += [*group, ""]
        chain_imports = sorted(imports) + [
            f"from {source} import {', '.join(sorted(names))}"
            for source, names in sorted(from_imports.items())
        ]
        if chain_imports:
            lines += [*chain_imports, ""]
        constants = len(module.constants)
        groups = ["\n".join(body[:constants])] if constants else []
        groups += [block.rstrip("\n") for block in body[constants:]]
        gap = "\n\n" if constants else "\n\n\n"
        return "\n".join(lines).rstrip("\n") + gap + "\n\n\n".join(groups) + "\n"

    def _reference(
        self,
        module: _Module,
        name: str,
        imports: set[str],
        from_imports: dict[str, set[str]],
        api_names: set[str],
    ) -> str:
        if name.startswith("api:"):
            api = name[4:]
            if module.api_form == "alias":
                api_names.add("chains")
                return f"chains.{api}"
            api_names.add(api)
            return api
        home = self.homes[name]
        if home == module.name:
            return name
        package, _, leaf = home.rpartition(".")
        same_package = bool(package) and module.name.rpartition(".")[0] == package
        if module.import_style == "names":
            source = f".{leaf}" if module.relative and same_package else home
            from_imports.setdefault(source, set()).add(name)
            return name
        if module.import_style == "dotted" and package:
            imports.add(f"import {home}")
            return f"{home}.{name}"
        if package:
            from_imports.setdefault(
                "." if module.relative and same_package else package, set()
            ).add(leaf)
        else:
            imports.add(f"import {home}")
        return f"{leaf}.{name}"


# -- the chain -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Choices:
    entry_module: str
    types_home: str
    after_style: str  # "future" | "strings" (types_home == "chain_after")
    types_module: str  # dotted name of the types module
    types_style: str  # how the chain file imports the types: names | module | dotted
    kinds: tuple[str, ...]
    worker_homes: dict[str, str]  # kind -> "chain" | "sibling" | "package"
    counter_home: str  # the "deep" worker's dependency
    base_home: str  # "same" | "other": the "inherited" worker's base class
    constant_home: str  # "chain" | "types": TOP_K
    asyncs: dict[str, bool]  # Chainlet class -> async endpoint
    api_forms: dict[str, str]  # role -> "alias" | "from"
    entry_output: str  # "model" | "str" | "stream"
    relative: bool
    typing_module: str  # where Iterator/AsyncIterator come from
    sibling_workers: str
    sibling_bases: str
    package: str
    top_k: int
    words: tuple[str, ...]


_TYPE_NEEDS = {
    "scorer": ("Query", "Scored"),
    "nested": ("Outer",),
    "alias": ("Vector",),
    "binary": ("Blob",),
}
_CLASS = {
    "scorer": "Scorer",
    "nested": "Measurer",
    "alias": "Summer",
    "str_stream": "Shouter",
    "bytes_stream": "Reverser",
    "binary": "Blobber",
    "inherited": "Tagger",
    "deep": "Relay",
}
_ATTR = {
    "scorer": "scorer",
    "nested": "measurer",
    "alias": "summer",
    "str_stream": "shouter",
    "bytes_stream": "reverser",
    "binary": "blobber",
    "inherited": "tagger",
    "deep": "relay",
}


def _types_module(
    rng: random.Random, types_home: str, entry_module: str, package: str
) -> str:
    if types_home in ("chain_before", "chain_after"):
        return entry_module
    if types_home == "sibling":
        return rng.choice(SIBLING_TYPES)
    if types_home == "package":
        return f"{package}.io_types"
    if types_home == "nested_package":
        return f"{package}.nested_package.io_types"
    return rng.choice(("ns_shared", "ns_zz")) + ".io_types"


def _homes(
    rng: random.Random, kinds: Sequence[str], types_local: bool
) -> tuple[dict[str, str], str]:
    """Which module holds each worker, and the deep worker's `Counter`, without import cycles."""
    homes = {}
    for kind in kinds:
        if types_local and kind in _TYPE_NEEDS:
            homes[kind] = (
                "chain"  # a sibling importing the chain file: a cycle in user code
            )
        else:
            homes[kind] = rng.choice(("chain", "sibling", "package"))
    counter = rng.choice(("chain", "sibling", "package"))
    relay = homes.get("deep", "chain")
    if relay != "chain" and counter == "chain":
        counter = relay  # the relay's module cannot import the chain file
    if relay == "package" and counter == "sibling":
        counter = "package"  # a package module importing a top-level sibling: avoided
    return homes, counter


def _asyncs(
    rng: random.Random, kinds: Sequence[str], entry_async: bool
) -> dict[str, bool]:
    """Sync or async endpoint per Chainlet class, consistent with who awaits whom."""
    asyncs = {_CLASS[kind]: rng.random() < 0.5 for kind in kinds}
    asyncs["Entry"] = entry_async
    asyncs["Counter"] = rng.random() < 0.5
    if "str_stream" in kinds:
        asyncs["Shouter"] = True
    if "bytes_stream" in kinds:
        # Truss serves async streams only; chainsc serves sync ones too (not Truss-valid).
        asyncs["Reverser"] = rng.random() < 0.75
    if not entry_async:
        asyncs.update(dict.fromkeys(asyncs, False))
    if "deep" in kinds and not asyncs["Relay"]:
        asyncs["Counter"] = False
    if "inherited" in kinds:
        asyncs["BaseTagger"] = asyncs["Tagger"]
    return asyncs


def _choose(index: int, features: frozenset[str]) -> _Choices:
    rng = random.Random(f"{SEED}:{index}")
    entry_module = ENTRY_MODULES[index % len(ENTRY_MODULES)]
    types_home = TYPE_HOMES[(index // len(ENTRY_MODULES)) % len(TYPE_HOMES)]
    package = rng.choice(PACKAGES)
    types_module = _types_module(rng, types_home, entry_module, package)
    styles = ["names", "module"]
    if types_home in ("package", "nested_package") or (
        types_home == "namespace" and "dotted_namespace" in features
    ):
        styles.append("dotted")
    types_style = rng.choice(styles)
    entry_async = rng.random() < 0.6
    pool = [kind for kind in KINDS if kind != "alias" or "type_alias" in features]
    if not entry_async:
        pool.remove("str_stream")  # an async stream cannot be read from a sync endpoint
    kinds = tuple(
        sorted(rng.sample(pool, rng.choice((1, 2, 2, 3, 3, 4))), key=KINDS.index)
    )
    types_local = types_home in ("chain_before", "chain_after")
    worker_homes, counter_home = _homes(rng, kinds, types_local)
    asyncs = _asyncs(rng, kinds, entry_async)
    if types_local:
        constant_home = "chain"  # the types module is the chain file
    elif "scorer" in kinds and worker_homes["scorer"] != "chain":
        constant_home = "types"  # the scorer's module cannot import the chain file
    else:
        constant_home = rng.choice(("chain", "types"))
    outputs = ["model", "str"] + (["stream"] if entry_async else [])
    return _Choices(
        entry_module=entry_module,
        types_home=types_home,
        after_style=rng.choice(("future", "strings")),
        types_module=types_module,
        types_style=types_style,
        kinds=kinds,
        worker_homes=worker_homes,
        counter_home=counter_home,
        base_home=rng.choice(("same", "other")),
        constant_home=constant_home,
        asyncs=asyncs,
        api_forms={
            role: rng.choice(("alias", "from"))
            for role in ("chain", "sibling", "package", "bases", "counter")
        },
        entry_output=rng.choice(outputs),
        relative=rng.random() < 0.5,
        typing_module=rng.choice(("typing", "collections.abc")),
        sibling_workers=rng.choice(SIBLING_WORKERS),
        sibling_bases=rng.choice(SIBLING_BASES),
        package=package,
        top_k=rng.choice((1, 2, 3)),
        words=tuple(rng.sample(_WORDS, rng.choice((2, 3, 4)))),
    )


_TYPE_BLOCKS = {
    "Query": '''class Query(pydantic.BaseModel):
    """What the scorer ranks."""

    text: str
''',
    "Scored": """class Scored(pydantic.BaseModel):
    hits: list[str]
    label: str = "scored"
""",
    "Outer": '''class Outer:
    """Only a namespace: the I/O type is `Outer.Inner`."""

    class Inner(pydantic.BaseModel):
        value: int
''',
    "Blob": """class Blob(pydantic.BaseModel):
    data: bytes
    n: int = 0
""",
    "Answer": """class Answer(pydantic.BaseModel):
    parts: list[str]
    total: int
""",
}


def _adef(is_async: bool) -> str:
    return "async def" if is_async else "def"


def _worker_block(kind: str, is_async: bool) -> str:
    adef = _adef(is_async)
    if kind == "scorer":
        return f'''class Scorer(<<api:ChainletBase>>):
    """Keeps the first `top_k` words in sorted order (`top_k` defaults to a module constant)."""

    {adef} run_remote(self, query: [[<<Query>>]], top_k: int = <<TOP_K>>) -> [[<<Scored>>]]:
        return <<Scored>>(hits=sorted(query.text.split())[:top_k])
'''
    if kind == "nested":
        return f"""class Measurer(<<api:ChainletBase>>):
    {adef} run_remote(self, text: str) -> [[<<Outer>>.Inner]]:
        return <<Outer>>.Inner(value=len(text))
"""
    if kind == "alias":
        return f"""class Summer(<<api:ChainletBase>>):
    {adef} run_remote(self, values: [[<<Vector>>]]) -> float:
        return float(sum(values))
"""
    if kind == "str_stream":
        return """class Shouter(<<api:ChainletBase>>):
    async def run_remote(self, text: str) -> AsyncIterator[str]:
        for word in text.split():
            yield word.upper() + " "
"""
    if kind == "bytes_stream":
        iterator = "AsyncIterator" if is_async else "Iterator"
        return f"""class Reverser(<<api:ChainletBase>>):
    {adef} run_remote(self, text: str) -> {iterator}[bytes]:
        for word in text.split():
            yield word[::-1].encode() + b"."
"""
    if kind == "binary":
        return f'''class Blobber(<<api:ChainletBase>>):
    """Called with `use_binary=True`: its bytes travel as msgpack binary."""

    {adef} run_remote(self, blob: [[<<Blob>>]]) -> [[<<Blob>>]]:
        return <<Blob>>(data=blob.data[::-1], n=len(blob.data))
'''
    if kind == "inherited":
        return '''class Tagger(<<BaseTagger>>):
    """Inherits `run_remote` (and its signature) from its base; only the prefix differs."""

    prefix = "tagged"
'''
    raise AssertionError(kind)


def _base_tagger(is_async: bool) -> str:
    return f'''class BaseTagger(<<api:ChainletBase>>):
    """Counts words; subclasses change the prefix."""

    prefix = "base"

    {_adef(is_async)} run_remote(self, text: str) -> str:
        return f"{{self.prefix}}:{{len(text.split())}}"
'''


def _counter(is_async: bool) -> str:
    return f"""class Counter(<<api:ChainletBase>>):
    {_adef(is_async)} run_remote(self, text: str) -> int:
        return len(text.split())
"""


def _relay(is_async: bool, counter_async: bool) -> str:
    wait = "await " if counter_async else ""
    return f'''class Relay(<<api:ChainletBase>>):
    """Depends on `Counter` itself: a hop behind a hop."""

    def __init__(self, counter: <<Counter>> = <<api:depends>>(<<Counter>>)) -> None:
        self._counter = counter

    {_adef(is_async)} run_remote(self, text: str) -> int:
        return {wait}self._counter.run_remote(text) + 1000
'''


_CALLS = {
    "scorer": (
        "scored = {aw}self._scorer.run_remote(<<Query>>(text=text))",
        "f\"scorer:{','.join(scored.hits)}:{top_k}\"",
    ),
    "nested": (
        "inner = {aw}self._measurer.run_remote(text)",
        'f"nested:{inner.value}"',
    ),
    "alias": (
        "total = {aw}self._summer.run_remote([float(len(word)) for word in text.split()])",
        'f"alias:{int(total)}"',
    ),
    "str_stream": (
        'shout = "".join([piece async for piece in self._shouter.run_remote(text)])',
        'f"stream:{shout.strip()}"',
    ),
    "bytes_stream": ('raw = b"".join({chunks})', 'f"bytes:{raw.decode()}"'),
    "binary": (
        "blob = {aw}self._blobber.run_remote(<<Blob>>(data=text.encode()))",
        'f"binary:{blob.data.decode()}:{blob.n}"',
    ),
    "inherited": ("tag = {aw}self._tagger.run_remote(text)", 'f"inherited:{tag}"'),
    "deep": ("count = {aw}self._relay.run_remote(text)", 'f"deep:{count}"'),
}


def _entry(choices: _Choices) -> str:
    is_async = choices.asyncs["Entry"]
    params = []
    for kind in choices.kinds:
        cls = _CLASS[kind]
        option = ", use_binary=True" if kind == "binary" else ""
        params.append(
            f"        {_ATTR[kind]}: <<{cls}>> = <<api:depends>>(<<{cls}>>{option}),"
        )
    assigns = [f"        self._{_ATTR[kind]} = {_ATTR[kind]}" for kind in choices.kinds]
    calls = []
    for kind in choices.kinds:
        call, part = _CALLS[kind]
        target_async = choices.asyncs[_CLASS[kind]]
        wait = "await " if target_async else ""
        chunks = (
            "[chunk async for chunk in self._reverser.run_remote(text)]"
            if target_async
            else "self._reverser.run_remote(text)"
        )
        calls += [
            f"        {call.format(aw=wait, chunks=chunks)}",
            f"        parts.append({part})",
        ]
    if choices.entry_output == "model":
        returns, tail = (
            "[[<<Answer>>]]",
            ["        return <<Answer>>(parts=parts, total=len(parts))"],
        )
    elif choices.entry_output == "str":
        returns, tail = "str", ['        return " | ".join(parts)']
    else:
        returns, tail = (
            "AsyncIterator[str]",
            ["        for part in parts:", '            yield part + "\\n"'],
        )
    lines = [
        "@<<api:mark_entrypoint>>",
        "class Entry(<<api:ChainletBase>>):",
        '    """Calls every worker once: its answer has one part per hop."""',
        "",
        "    def __init__(",
        "        self,",
        *params,
        "    ) -> None:",
        *assigns,
        "",
        f"    {_adef(is_async)} run_remote(self, text: str, top_k: int = <<TOP_K>>) -> {returns}:",
        "        parts: list[str] = []",
        *calls,
        *tail,
    ]
    return "\n".join(lines) + "\n"


def _part(kind: str, words: Sequence[str], top_k: int) -> str:
    text = " ".join(words)
    if kind == "scorer":
        return f"scorer:{','.join(sorted(words)[:top_k])}:{top_k}"
    if kind == "nested":
        return f"nested:{len(text)}"
    if kind == "alias":
        return f"alias:{sum(len(word) for word in words)}"
    if kind == "str_stream":
        return "stream:" + " ".join(word.upper() for word in words)
    if kind == "bytes_stream":
        return "bytes:" + "".join(word[::-1] + "." for word in words)
    if kind == "binary":
        return f"binary:{text[::-1]}:{len(text.encode())}"
    if kind == "inherited":
        return f"inherited:tagged:{len(words)}"
    if kind == "deep":
        return f"deep:{len(words) + 1000}"
    raise AssertionError(kind)


def _module_path(name: str) -> str:
    return name.replace(".", "/") + ".py"


class _Placer:
    """Puts the types, constants and Chainlets of one layout into its modules."""

    def __init__(self, choices: _Choices) -> None:
        self.choices = choices
        self.program = _Program()
        self.after = choices.types_home == "chain_after"
        self.chain = self.program.add(
            _Module(
                choices.entry_module,
                f"{choices.entry_module}.py",
                choices.api_forms["chain"],
                choices.types_style,
                future=self.after and choices.after_style == "future",
                string_annotations=self.after and choices.after_style == "strings",
            )
        )
        if choices.types_home in ("chain_before", "chain_after"):
            self.types = self.chain
        else:
            name = choices.types_module
            self.types = self.program.add(
                _Module(name, _module_path(name), "alias", "names")
            )

    def module_for(self, home: str, role: str = "package") -> _Module:
        """The chain file, the sibling workers module or the package module."""
        choices = self.choices
        if home == "chain":
            return self.chain
        if home == "sibling":
            name = choices.sibling_workers
            return self.program.add(
                _Module(
                    name,
                    _module_path(name),
                    choices.api_forms["sibling"],
                    choices.types_style,
                )
            )
        name = f"{choices.package}.shared_chainlet"
        return self.program.add(
            _Module(
                name,
                _module_path(name),
                choices.api_forms[role],
                choices.types_style,
                relative=choices.relative,
            )
        )

    def place_types(self) -> None:
        """I/O types (before or after the Chainlets) and the TOP_K constant (always first)."""
        choices, types = self.choices, self.types
        needed = [name for kind in choices.kinds for name in _TYPE_NEEDS.get(kind, ())]
        if choices.entry_output == "model":
            needed.append("Answer")
        constant_module = self.chain if choices.constant_home == "chain" else types
        constant_module.constants.append(f"TOP_K = {choices.top_k}")
        self.program.define("TOP_K", constant_module)
        blocks = types.late if self.after else types.early
        if "Vector" in needed:
            blocks.append("Vector = list[float]")
            self.program.define("Vector", types)
        for name in ("Query", "Scored", "Outer", "Blob", "Answer"):
            if name in needed:
                blocks.append(_TYPE_BLOCKS[name])
                self.program.define(name, types)
        if any(name != "Vector" for name in needed):
            types.header.append("import pydantic")

    def place_chainlets(self) -> None:
        """Every Chainlet, in dependency order, then the entrypoint in the chain file."""
        choices = self.choices
        if "inherited" in choices.kinds:
            base_module = self.module_for(choices.worker_homes["inherited"])
            if choices.base_home == "other":
                in_package = choices.worker_homes["inherited"] == "package"
                name = (
                    f"{choices.package}.bases" if in_package else choices.sibling_bases
                )
                base_module = self.program.add(
                    _Module(
                        name,
                        _module_path(name),
                        choices.api_forms["bases"],
                        choices.types_style,
                    )
                )
            base_module.blocks.append(_base_tagger(choices.asyncs["BaseTagger"]))
            self.program.define("BaseTagger", base_module)
        if "deep" in choices.kinds:
            counter_module = self.module_for(choices.counter_home, "counter")
            counter_module.blocks.append(_counter(choices.asyncs["Counter"]))
            self.program.define("Counter", counter_module)
        for kind in choices.kinds:
            module = self.module_for(choices.worker_homes[kind])
            if kind == "deep":
                module.blocks.append(
                    _relay(choices.asyncs["Relay"], choices.asyncs["Counter"])
                )
            else:
                module.blocks.append(_worker_block(kind, choices.asyncs[_CLASS[kind]]))
            if kind == "str_stream":
                module.header.append(
                    f"from {choices.typing_module} import AsyncIterator"
                )
            if kind == "bytes_stream":
                iterator = "AsyncIterator" if choices.asyncs["Reverser"] else "Iterator"
                module.header.append(f"from {choices.typing_module} import {iterator}")
            self.program.define(_CLASS[kind], module)
        self.chain.blocks.append(_entry(choices))
        if choices.entry_output == "stream":
            self.chain.header.append(
                f"from {choices.typing_module} import AsyncIterator"
            )

    def tags(self) -> set[str]:
        """What the layout exercises, as `dimension:value` tags."""
        choices = self.choices
        tags = {
            f"file:{choices.entry_module}",
            f"types:{choices.types_home}",
            f"import:{choices.types_style}",
            f"entry:{'async' if choices.asyncs['Entry'] else 'sync'}",
            f"output:{choices.entry_output}",
            f"api:{choices.api_forms['chain']}",
            *(f"kind:{kind}" for kind in choices.kinds),
            *(f"home:{kind}={choices.worker_homes[kind]}" for kind in choices.kinds),
        }
        if self.after:
            tags.add(f"after:{choices.after_style}")
        if "bytes_stream" in choices.kinds and not choices.asyncs["Reverser"]:
            tags.add("sync_stream")
        if "inherited" in choices.kinds:
            tags.add(f"base:{choices.base_home}")
        if "deep" in choices.kinds:
            tags.add(f"counter:{choices.counter_home}")
        return tags


def _expected(choices: _Choices) -> object:
    parts = [_part(kind, choices.words, choices.top_k) for kind in choices.kinds]
    if choices.entry_output == "model":
        return {"parts": parts, "total": len(parts)}
    if choices.entry_output == "str":
        return " | ".join(parts)
    return "".join(part + "\n" for part in parts)


def build_layout(index: int, features: Iterable[str] = ()) -> Layout:
    """The layout number `index` (deterministic), using only the optional `features` given."""
    enabled = frozenset(features)
    unknown = enabled - OPTIONAL_FEATURES
    assert not unknown, unknown
    choices = _choose(index, enabled)
    placer = _Placer(choices)
    placer.place_types()
    placer.place_chainlets()
    chainlets = ["Entry", *(_CLASS[kind] for kind in choices.kinds)]
    if "deep" in choices.kinds:
        chainlets.append("Counter")
    needs = set()
    if "alias" in choices.kinds:
        needs.add("type_alias")
    if choices.types_home == "namespace" and choices.types_style == "dotted":
        needs.add("dotted_namespace")
    files = placer.program.render()
    tags = placer.tags()
    if any("\nfrom ." in text for text in files.values()):
        tags.add("relative")
    short = "-".join(kind.replace("_stream", "") for kind in choices.kinds)
    return Layout(
        name=f"L{index:03d}-{choices.entry_module}-{choices.types_home}-{short}",
        files=files,
        chain_file=f"{choices.entry_module}.py",
        request={"text": " ".join(choices.words)},
        expected=_expected(choices),
        streaming=choices.entry_output == "stream",
        truss_valid=not placer.after and choices.asyncs.get("Reverser", True),
        features=tuple(sorted(tags)),
        chainlets=tuple(chainlets),
        needs=frozenset(needs),
    )


def generate(count: int, features: Iterable[str] = ()) -> list[Layout]:
    """Layouts 0..count-1. The first len(ENTRY_MODULES) * len(TYPE_HOMES) cross every
    chain file name with every home of the I/O types."""
    enabled = tuple(features)
    return [build_layout(index, enabled) for index in range(count)]


def main(argv: Sequence[str]) -> int:
    """Write layouts under OUT_DIR/<name>/ for reading."""
    out = Path(argv[0])
    count = int(argv[1]) if len(argv) > 1 else len(ENTRY_MODULES) * len(TYPE_HOMES)
    for layout in generate(count, OPTIONAL_FEATURES):
        layout.write(out / layout.name)
        sys.stdout.write(
            f"{layout.name}: {layout.chain_file} {' '.join(layout.features)}\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
