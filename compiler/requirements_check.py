"""The requirements check: third-party imports a Chainlet's package carries but does not declare.

Stage: after validate, for chains without errors (`api` calls it, so `check` and
`build` report the same), and from the build's load stage (`emit.inputs`), which
hands the planner what Truss provides (CSC461) for the package's requirements. Pure: the user's requirement files are
read through the program's root, nothing is imported or executed. Imports: ast,
packaging, ir, resolve, parse, diagnostics, distributions, requirements,
carry (what a package carries, as the planner's slice carries it) and signatures
(what the in-place clients' signatures read); no libcst, no jinja.

What a package carries is what the slice keeps: the top-level statements the
Chainlet needs, transitively, across local modules (`carried_statements` asks
`carry`, the slice's own closure, and a test holds the two together on every example).
An import counts when its statement is carried or sits inside a carried
statement (a method, a function, an `if` block): imports inside functions run at
call time and fail there just the same. Not counted:

- imports inside another Chainlet's class: its client stands in its place;

- imports guarded by a `try` whose `except` catches `ImportError` (or
  `ModuleNotFoundError`, `Exception`, `BaseException`, or a bare `except`),
  fallbacks in its handlers included: the code was written to run without them;
- imports under `if TYPE_CHECKING:`, which never run;
- the standard library (`sys.stdlib_module_names` of the interpreter running
  chainsc), `__future__`, relative imports, local modules and packages (found
  under the chain root, namespace packages included, or in the Chainlet's
  `external_package_dirs`), and the Chains API (`truss_chains`,
  `truss.base.truss_config`: the vendored runtime).

An import is covered when one of the distributions that may provide it
(`chainsc.distributions`) is named by the Chainlet's requirements
(`pip_requirements`, `requirements_file`; by PEP 503 name) or installed by the
runtime's. Otherwise, if Truss provides it on Baseten, chainsc adds Truss's
requirement line to the package (CSC461); else it is missing (CSC460). Each is
reported once per package and distribution, at the first carried import in
source order; Chainlets reporting the same import at the same place share one
diagnostic. A `uv.lock` that cannot serve as the package's requirements as is
gets CSC462 at the Chainlet.
"""

from __future__ import annotations

import ast
import bisect
import posixpath
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

from chainsc import carry as carrying
from chainsc import ir
from chainsc.diagnostics import Diagnostic, warning
from chainsc.distributions import (
    RUNTIME_DISTRIBUTIONS,
    TRUSS_PROVIDED,
    TRUSS_SERVER_REQUIREMENTS,
    TRUSS_VERSION,
    distributions_of,
    normalized_distributions_of,
)
from chainsc.graph import reachable
from chainsc.parse import group_statements
from chainsc.requirements import (
    PYPROJECT_TOML,
    UV_LOCK,
    declared_names,
    lock_shortfall,
    requirement_name,
)
from chainsc.resolve import ModuleInfo, Program
from chainsc.runtime_files import installed_constant
from chainsc.signatures import (
    endpoint_signature,
    local_names,
    module_at_path,
    reach_names,
)
from chainsc.source import Span

#: Roots of imports the slice points at the vendored runtime.
_RUNTIME_ROOTS = frozenset(
    {"truss_chains", "runtime_lib", "chainsc_runtime", "chainsc_generated"}
)
_TRUSS_CONFIG_MODULES = frozenset(
    {"truss.base.truss_config", "truss.truss_config", "truss.base.trt_llm_config"}
)
#: Exceptions whose handler makes the imports of a `try` optional.
_IMPORT_ERRORS = frozenset(
    {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}
)
#: A line that starts an import statement: a cheap filter before any tree walk.
_IMPORT_LINE = re.compile(r"^[ \t]*(?:import|from)[ \t\\]", re.MULTILINE)
_SERVER_NAMES = frozenset(requirement_name(line) for line in TRUSS_SERVER_REQUIREMENTS)


@dataclass(frozen=True, slots=True)
class ImportSite:
    """One import of a module that is not local, standard or the Chains API."""

    #: The importing local module (dotted name).
    module: str
    #: Index of the top-level statement that holds the import.
    statement: int
    #: The absolute dotted module imported (`google.protobuf`, `cv2`).
    imported: str
    #: Where it is written: the module's name in `import x`, the statement in `from x import y`.
    span: Span
    #: The outermost class that holds the import, if any: where that class is another
    #: Chainlet's, its client replaces it (or its code runs only in its own package).
    in_class: str | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """An import one package carries and its requirements do not cover."""

    chainlet: ir.Chainlet
    site: ImportSite
    #: Distributions that may provide it, as the table spells them, best first.
    distributions: tuple[str, ...]
    #: Truss's requirement line, when Truss provides it on Baseten (chainsc adds it);
    #: None when nothing provides it (missing).
    truss_line: str | None


def third_party_imports(program: Program, module: ModuleInfo) -> list[ImportSite]:
    """Every import in `module` that is not optional, local, standard, the Chains API or the runtime's."""
    source = module.parsed.source
    lines = sorted(
        {
            source.position(match.start())[0]
            for match in _IMPORT_LINE.finditer(source.text)
        }
    )
    if not lines:
        return []
    sites: list[ImportSite] = []
    for index, group in enumerate(group_statements(module.parsed.tree)):
        for node, in_class in (
            found for statement in group for found in _imports_in(statement, lines)
        ):
            for imported, at in _imported_modules(node):
                if not _is_third_party(program, imported) or _runtime_provides(
                    imported
                ):
                    continue
                sites.append(
                    ImportSite(
                        module.name, index, imported, _span(module, at), in_class
                    )
                )
    return sites


def _span(module: ModuleInfo, node: ast.stmt | ast.alias) -> Span:
    if isinstance(node, ast.stmt):
        return module.parsed.ast_span(node)
    end_line = node.end_lineno or node.lineno
    end_col = (
        node.end_col_offset if node.end_col_offset is not None else node.col_offset
    )
    parsed = module.parsed
    return Span(
        module.path,
        node.lineno,
        parsed.char_column(node.lineno, node.col_offset),
        end_line,
        parsed.char_column(end_line, end_col),
    )


def _imports_in(
    statement: ast.stmt, lines: Sequence[int]
) -> Iterator[tuple[ast.Import | ast.ImportFrom, str | None]]:
    """The non-optional imports in `statement`, each with the outermost class that holds it.

    Only blocks that hold an import line are visited.
    """

    def has_import_line(node: ast.stmt) -> bool:
        first = bisect.bisect_left(lines, node.lineno)
        return first < len(lines) and lines[first] <= (node.end_lineno or node.lineno)

    stack: list[tuple[ast.stmt, str | None]] = [(statement, None)]
    while stack:
        node, owner = stack.pop()
        if not has_import_line(node):
            continue
        children: list[ast.stmt] = []
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, owner
        elif isinstance(node, ast.Try | ast.TryStar):
            if not any(_catches_import_error(handler) for handler in node.handlers):
                children += node.body
                children += [
                    inner for handler in node.handlers for inner in handler.body
                ]
            children += node.orelse + node.finalbody
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                children += node.body
            children += node.orelse
        elif isinstance(node, ast.Match):
            children += [inner for case in node.cases for inner in case.body]
        elif isinstance(node, ast.ClassDef):
            owner = owner or node.name
            children += node.body
        else:
            for field in ("body", "orelse", "finalbody"):
                children += [
                    child
                    for child in getattr(node, field, ())
                    if isinstance(child, ast.stmt)
                ]
        stack.extend((child, owner) for child in children)


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    caught = handler.type
    if caught is None:
        return True
    names = caught.elts if isinstance(caught, ast.Tuple) else [caught]
    return any(
        (isinstance(name, ast.Name) and name.id in _IMPORT_ERRORS)
        or (isinstance(name, ast.Attribute) and name.attr in _IMPORT_ERRORS)
        for name in names
    )


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported_modules(
    node: ast.Import | ast.ImportFrom,
) -> Iterator[tuple[str, ast.stmt | ast.alias]]:
    """(absolute module, node to point at) of each module an import statement loads."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name, alias
        return
    if node.level or node.module is None:
        return  # relative: a local module
    if node.module in ("truss", "truss.base") and all(
        alias.name == "truss_config" for alias in node.names
    ):
        return  # `from truss.base import truss_config`: the runtime's copy
    yield node.module, node


def _runtime_provides(imported: str) -> bool:
    """Whether the runtime's requirements install what `imported` comes from (every package has them)."""
    return not RUNTIME_DISTRIBUTIONS.isdisjoint(normalized_distributions_of(imported))


def _is_third_party(program: Program, imported: str) -> bool:
    first = imported.partition(".")[0]
    if (
        first == "__future__"
        or first in sys.stdlib_module_names
        or first in _RUNTIME_ROOTS
    ):
        return False
    if imported in _TRUSS_CONFIG_MODULES or any(
        imported.startswith(f"{module}.") for module in _TRUSS_CONFIG_MODULES
    ):
        return False
    if program.locate_module(first) is not None:
        return False
    # A directory under the root is a namespace package (PEP 420), as resolve reads it.
    return not any(
        (base / first).is_dir() for base in (program.chain_dir, program.root)
    )


# ---------------------------------------------------------------- what a package carries


def slice_request(
    chain: ir.Chain,
    program: Program,
    chainlet: ir.Chainlet,
    clients: Mapping[tuple[str, str], carrying.ClientCode] | None = None,
) -> carrying.SliceRequest:
    """The slice request of a Chainlet's package, as the planner makes it (`_Planner.package`).

    Its own classes, the names the generated code imports (the endpoint's types and
    defaults, the dependencies' classes, which stand as clients), and for every
    other Chainlet an in-place client of which only `uses` matters here: what its
    signature reads.
    """
    by_id = {c.id: c for c in chain.chainlets}
    types = {t.id: t for t in chain.types}

    def top_level(chainlet_id: str) -> tuple[str, str]:
        known = by_id.get(chainlet_id)
        if known is not None:
            return known.module, known.name.split(".")[0]
        module, _, name = chainlet_id.rpartition(".")
        while module and module not in program.modules:
            module, _, parent = module.rpartition(".")
            name = parent
        return module, name

    own = frozenset(
        top_level(chainlet_id) for chainlet_id in (chainlet.id, *chainlet.bases)
    )
    extra = {
        (types[t].module, types[t].qualname.split(".")[0])
        for t in chainlet.types
        if t in types
    }
    owner = module_at_path(program.modules, chainlet.endpoint.span.path)
    for param in chainlet.endpoint.params:
        if param.default_source is not None:
            extra.update(
                (owner.name, name) for name in local_names(param.default_source, owner)
            )
    extra.update(top_level(d.target) for d in chainlet.dependencies)
    if clients is None:
        clients = signature_uses(chain, program)
    return carrying.SliceRequest(own, clients, frozenset(extra))


def signature_uses(
    chain: ir.Chain, program: Program
) -> Mapping[tuple[str, str], carrying.ClientCode]:
    """Every Chainlet's in-place client, as far as the slice reads it (made on demand, once)."""
    by_class = {(c.module, c.name.split(".")[0]): c for c in chain.chainlets}

    def make(key: tuple[str, str]) -> carrying.ClientCode:
        # Only `uses` matters to the slice: what the client's signature reads.
        uses = reach_names(
            program, endpoint_signature(by_class[key], program.modules), key[0]
        ).uses
        return carrying.ClientCode(text="", imports=(), uses=uses)

    return carrying.ClientsOnDemand(by_class, make)


def carried_statements(
    analysis: carrying.Analysis, request: carrying.SliceRequest
) -> dict[str, set[int]]:
    """Module -> indices of the top-level statements the package carries.

    The slice's own answer (`carry.carry`). A statement that is only another
    Chainlet's class carries nothing of it: its client stands there.
    """
    carried = carrying.carry(analysis, request)
    return {
        module: {
            statement.index
            for statement in statements
            if not carrying.is_only_a_client(module, statement, request)
        }
        for module, statements in carried.statements.items()
    }


# ---------------------------------------------------------------- the check


@dataclass(slots=True)
class RequirementsCheck:
    """The requirements check of one chain: findings per Chainlet, computed on demand."""

    chain: ir.Chain
    program: Program
    #: The slice analysis, when the caller has one (the load stage); else made when needed.
    analysis: carrying.Analysis | None = None
    _sites: dict[str, list[ImportSite]] | None = None
    _clients: Mapping[tuple[str, str], carrying.ClientCode] | None = None

    def read_file(self, relative: str) -> str:
        """A file under the chain root, as text (only through the root: `chainsc.confine`)."""
        return self.program.fs.read_text(relative)

    def sites(self) -> dict[str, list[ImportSite]]:
        """Module -> its third-party imports (computed once per program, asked once per package)."""
        if self._sites is None:
            self._sites = _program_sites(self.program)
        return self._sites

    def findings(self, chainlet: ir.Chainlet) -> list[Finding]:
        """What `chainlet`'s package imports and its requirements do not cover, first site per distribution."""
        all_sites = [site for sites in self.sites().values() for site in sites]
        if not all_sites:
            return []
        image = chainlet.remote_config.docker_image
        declared = declared_names(image, self.read_file)
        external = _external_modules(self.program.root, image.external_package_dirs)
        candidates = [
            site
            for site in all_sites
            if site.imported.partition(".")[0] not in external
            and declared.isdisjoint(normalized_distributions_of(site.imported))
        ]
        if not candidates:
            return []
        kept = self.carried_sites(chainlet, candidates)
        findings: dict[str, Finding] = {}
        for site in kept:
            distributions = distributions_of(site.imported)
            normalized = normalized_distributions_of(site.imported)
            provided = next(
                (name for name in normalized if name in TRUSS_PROVIDED), None
            )
            key = provided or normalized[0]
            if key not in findings:
                truss_line = TRUSS_PROVIDED[provided] if provided is not None else None
                findings[key] = Finding(chainlet, site, distributions, truss_line)
        return list(findings.values())

    def carried_sites(
        self, chainlet: ir.Chainlet, sites: Sequence[ImportSite] | None = None
    ) -> list[ImportSite]:
        """The `sites` (default: all) that run in `chainlet`'s package, in source order."""
        if sites is None:
            sites = [
                site for module_sites in self.sites().values() for site in module_sites
            ]
        if self._clients is None:
            self._clients = signature_uses(self.chain, self.program)
        carried = carried_statements(
            self._analysis(),
            slice_request(self.chain, self.program, chainlet, self._clients),
        )
        # Another Chainlet's class is replaced by its client where it stands (also inside
        # an `if` the package carries): nothing inside it runs in this package.
        own = {(chainlet.module, chainlet.name.split(".")[0])}
        own.update(
            (c.module, c.name.split(".")[0])
            for c in self.chain.chainlets
            if c.id in chainlet.bases
        )
        others = {(c.module, c.name.split(".")[0]) for c in self.chain.chainlets} - own
        modules = self.program.modules
        return sorted(
            (
                site
                for site in sites
                if site.statement in carried.get(site.module, ())
                and (site.module, site.in_class) not in others
                # A branch of an `if` Python never takes (`extract`) imports nothing.
                and not (
                    site.module in modules
                    and modules[site.module].never_runs(site.span.line)
                )
            ),
            key=lambda site: (site.span.path, site.span.line, site.span.col),
        )

    def additions(self, chainlet: ir.Chainlet) -> tuple[str, ...]:
        """Truss's requirement lines for what the package imports and only Truss provides, sorted."""
        return tuple(
            sorted(
                {
                    f.truss_line
                    for f in self.findings(chainlet)
                    if f.truss_line is not None
                }
            )
        )

    def _analysis(self) -> carrying.Analysis:
        if self.analysis is None:
            sources = {
                name: carrying.ModuleSource.of(m)
                for name, m in self.program.modules.items()
            }
            self.analysis = carrying.analyse_modules(sources)
        return self.analysis


#: Import sites by (root, chain directory, module name, path, text): the check stage and
#: every package of a build ask for the same modules' sites. Keyed by content (a str
#: caches its hash), so no program is kept alive and a changed file is read afresh.
_SITES_CACHE: dict[tuple[Path, Path, str, str, str], list[ImportSite]] = {}
_SITES_CACHE_LIMIT = 4096


def _program_sites(program: Program) -> dict[str, list[ImportSite]]:
    sites: dict[str, list[ImportSite]] = {}
    for name, module in program.modules.items():
        key = (
            program.root,
            program.chain_dir,
            name,
            module.path,
            module.parsed.source.text,
        )
        found = _SITES_CACHE.get(key)
        if found is None:
            if len(_SITES_CACHE) >= _SITES_CACHE_LIMIT:
                _SITES_CACHE.clear()
            found = _SITES_CACHE[key] = third_party_imports(program, module)
        sites[name] = found
    return sites


def _external_modules(root: Path, directories: Sequence[str]) -> frozenset[str]:
    """Top-level module names found in a Chainlet's `external_package_dirs`."""
    names: set[str] = set()
    for directory in directories:
        base = root / directory
        if base.is_dir():
            names.update(path.stem for path in base.glob("*.py"))
            names.update(path.parent.name for path in base.glob("*/__init__.py"))
    return frozenset(names)


def requirement_diagnostics(chain: ir.Chain, program: Program) -> list[Diagnostic]:
    """CSC460/CSC461 for every package of the chain, CSC462 for an incomplete `uv.lock`."""
    check = RequirementsCheck(chain, program)
    edges = {c.id: [d.target for d in c.dependencies] for c in chain.chainlets}
    deployed = reachable(edges, chain.entrypoint)
    grouped: dict[tuple[Span, str, str | None], list[Finding]] = {}
    diagnostics: list[Diagnostic] = []
    for chainlet in chain.chainlets:
        if chainlet.id not in deployed or not chainlet.has_code:
            continue  # an engine builder's or a TrussChainlet's package carries no code
        findings = check.findings(chainlet)
        for finding in findings:
            site = finding.site
            key = (site.span, finding.distributions[0], finding.truss_line)
            grouped.setdefault(key, []).append(finding)
        image = chainlet.remote_config.docker_image
        if (
            image.requirements_file is not None
            and posixpath.basename(image.requirements_file) == UV_LOCK
        ):
            additions = tuple(
                sorted({f.truss_line for f in findings if f.truss_line is not None})
            )
            shortfall = lock_shortfall(
                image, runtime_requirements(), additions, check.read_file
            )
            if shortfall:
                diagnostics.append(
                    _incomplete_lock(
                        chainlet,
                        image.requirements_file,
                        shortfall,
                        image.pip_requirements,
                    )
                )
    for group in grouped.values():
        diagnostics.append(_finding_diagnostic(group))
    return diagnostics


def _finding_diagnostic(group: Sequence[Finding]) -> Diagnostic:
    first = group[0]
    site = first.site
    chainlets = [finding.chainlet for finding in group]
    names = _chainlet_names(chainlets)
    if first.truss_line is not None:
        provided = requirement_name(first.truss_line) or first.distributions[0]
        spelled = next(
            (
                name
                for name in first.distributions
                if canonicalize_name(name) == provided
            ),
            provided,
        )
        origin = (
            "Truss's server image provides it"
            if provided in _SERVER_NAMES
            else "Truss Chains installs it with the `truss` package in every Chainlet"
        )
        version = (
            f" (truss {TRUSS_VERSION}'s range)" if first.truss_line != provided else ""
        )
        return warning(
            "CSC461",
            f"`{site.imported}` is imported, but {names} do not declare `{spelled}`: {origin}, so it works on "
            "Baseten, but `chainsc run --isolated` and containers need it declared; "
            f"chainsc adds `{first.truss_line}`{version} to the package's requirements",
            site.span,
            help=f"add `{spelled}` to {_where(chainlets)} to choose its version yourself",
        )
    distribution = first.distributions[0]
    others = first.distributions[1:]
    alternatives = (
        f" (or {', '.join(f'`{name}`' for name in others)}: each provides `{site.imported.partition('.')[0]}`)"
        if others
        else ""
    )
    return warning(
        "CSC460",
        f"`{site.imported}` is imported, but {names} do not declare `{distribution}`, which provides it: "
        "the package fails with `ModuleNotFoundError` wherever it is not installed",
        site.span,
        help=f"add `{distribution}`{alternatives} to {_where(chainlets)}",
    )


def _chainlet_names(chainlets: Sequence[ir.Chainlet]) -> str:
    names = [f"`{chainlet.display_name}`" for chainlet in chainlets]
    if len(names) == 1:
        return f"the requirements of {names[0]}"
    return f"the requirements of {', '.join(names[:-1])} and {names[-1]}"


def _where(chainlets: Sequence[ir.Chainlet]) -> str:
    """Where the requirement goes, for each distinct place these Chainlets declare theirs."""
    places: dict[str, list[str]] = {}
    for chainlet in chainlets:
        path = chainlet.remote_config.docker_image.requirements_file
        if path is None:
            place = "`pip_requirements` of the `DockerImage`"
        elif posixpath.basename(path) == PYPROJECT_TOML:
            place = f"`[project].dependencies` of `{path}`"
        elif posixpath.basename(path) == UV_LOCK:
            place = f"`{posixpath.join(posixpath.dirname(path), PYPROJECT_TOML)}` (then run `uv lock`)"
        else:
            place = f"`{path}`"
        places.setdefault(place, []).append(f"`{chainlet.display_name}`")
    if len(places) == 1:
        return next(iter(places))
    return " and ".join(
        f"{place} for {', '.join(owners)}" for place, owners in places.items()
    )


def _incomplete_lock(
    chainlet: ir.Chainlet,
    path: str,
    shortfall: Sequence[str],
    pip_requirements: Sequence[str],
) -> Diagnostic:
    lacking = [line for line in shortfall if line not in pip_requirements]
    parts = []
    if lacking:
        parts.append(f"does not lock {', '.join(f'`{line}`' for line in lacking)}")
    if pip_requirements:
        parts.append("cannot hold `pip_requirements`")
    quoted = " ".join(f"'{line}'" for line in shortfall)
    return warning(
        "CSC462",
        f"`{path}` of `{chainlet.display_name}` {' and '.join(parts)}, so its package installs from a "
        "`requirements.txt` of `pyproject.toml`'s dependencies and those instead, without the lock's pins",
        chainlet.span,
        help=f"to keep the lock, run `uv add {quoted}` next to it (chainsc never edits or re-locks a lock)",
    )


def runtime_requirements() -> tuple[str, ...]:
    """`chainsc_runtime.REQUIREMENTS`: what every package requires for the runtime itself."""
    return installed_constant("REQUIREMENTS")
