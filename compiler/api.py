"""The library API: orchestrates parse → resolve → extract → validate.

Stage: the only module that wires the stages together. Never raises for a
user mistake: every problem comes back as a diagnostic in the result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from chainsc import ir
from chainsc.confine import absolute
from chainsc.data_files import data_file_diagnostics
from chainsc.diagnostics import Diagnostic, error, has_errors, sort_diagnostics
from chainsc.extract import ExtractOptions, extract_chain, without_shadowed
from chainsc.parse import gc_paused
from chainsc.requirements_check import requirement_diagnostics
from chainsc.resolve import Program, is_module_name, load_program
from chainsc.source import SourceFile, Span
from chainsc.validate import check_observations, package_dir_name, validate_chain

if TYPE_CHECKING:
    from chainsc.emit.deploy import DeployOptions
    from chainsc.emit.inputs import PlanInputs


@dataclass(frozen=True, slots=True)
class CheckOptions:
    """What the user chose: the package root and, optionally, the entrypoint."""

    #: Directory module names are relative to; default: the nearest ancestor
    #: of the chain file that is not a package (no `__init__.py`, or not an importable name).
    root: Path | None = None
    #: Class or display name of the entrypoint, for chains that mark none.
    entrypoint: str | None = None


@dataclass(frozen=True, slots=True)
class CheckResult:
    """Diagnostics (sorted) and the IR when the chain has no errors."""

    diagnostics: tuple[Diagnostic, ...]
    chain: ir.Chain | None
    #: Display path to source, for rendering diagnostics with context lines.
    sources: Mapping[str, SourceFile] = field(default_factory=dict)

    @property
    def has_errors(self) -> bool:
        """Whether any diagnostic is an error."""
        return has_errors(self.diagnostics)


def default_root(chain_path: Path) -> Path:
    """The nearest ancestor directory of the chain file that is not a package.

    A directory whose name cannot be imported (`my-repo`, `class`) is never a package,
    whatever it holds: the root stops there, so every module name is importable.
    """
    directory = chain_path.parent
    while (
        (directory / "__init__.py").is_file()
        and is_module_name(directory.name)
        and directory.parent != directory
    ):
        directory = directory.parent
    return directory


def check_file(path: str | Path, options: CheckOptions | None = None) -> CheckResult:
    """Read, resolve, extract and validate a chain file without running it."""
    # The trees make ~100 objects a source line and no garbage cycles: with the
    # cyclic GC on, its full passes over them cost more than the parse.
    backstop = recursion_backstop(
        path
    )  # made now: when it is needed, the stack is full
    with gc_paused():
        try:
            return _check_file(path, options or CheckOptions())[0]
        except RecursionError:
            return CheckResult((backstop,), None)


@dataclass(frozen=True, slots=True)
class BuildResult:
    """Diagnostics (sorted) and, when the chain has no errors, the output tree."""

    diagnostics: tuple[Diagnostic, ...]
    #: Relative POSIX path to exact bytes, sorted; None when there are errors.
    files: Mapping[str, bytes] | None
    sources: Mapping[str, SourceFile] = field(default_factory=dict)
    #: Every user file the build read, when it has files: resolved path -> (how, sha256)
    #: (`chainsc.confine.ChainRoot.reads`; `chainsc.fastcheck` records them).
    reads: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def has_errors(self) -> bool:
        """Whether any diagnostic is an error."""
        return has_errors(self.diagnostics)


def _deploy_refused(chain: ir.Chain, deploy: DeployOptions | None) -> Diagnostic | None:
    """CSC014 when images are asked for a chain whose entrypoint has no server of chainsc's.

    An engine builder's or a TrussChainlet's package is Baseten's to serve: as a
    dependency it is left to the platform (the Kubernetes README says so), but an
    entrypoint of that kind leaves nothing of the chain for chainsc to run.
    """
    if deploy is None or not deploy.targets:
        return None
    entry = next(c for c in chain.chainlets if c.id == chain.entrypoint)
    if entry.has_code:
        return None
    kind = (
        "an engine builder (`EngineBuilderLLMChainlet`)"
        if entry.kind is ir.ChainletKind.ENGINE_BUILDER
        else "a TrussChainlet"
    )
    return error(
        "CSC014",
        f"`--with {' '.join(sorted(deploy.targets))}`: the entrypoint `{entry.display_name}`"
        f" is {kind}, which only Baseten serves; chainsc has no image to build for it",
        entry.span,
        help="deploy this chain with `chainsc push`, or build it without `--with`",
    )


def build_file(
    path: str | Path,
    options: CheckOptions | None = None,
    deploy: DeployOptions | None = None,
) -> BuildResult:
    """Check a chain file and plan its packages in memory (nothing is written).

    `deploy`: the deployment files to add (a `Dockerfile` per package, Kubernetes
    manifests); none by default.
    """
    from chainsc.emit.plan import plan  # noqa: PLC0415 - jinja2 only for builds
    from chainsc.emit.verify import generated_code_errors  # noqa: PLC0415 - only for builds

    backstop = recursion_backstop(
        path
    )  # made now: when it is needed, the stack is full
    with gc_paused():
        try:
            checked, inputs = build_inputs(path, options)
            if checked.chain is None or inputs is None:
                return BuildResult(checked.diagnostics, None, checked.sources)
            refused = _deploy_refused(checked.chain, deploy)
            if refused is not None:
                return BuildResult(
                    sort_diagnostics([*checked.diagnostics, refused]),
                    None,
                    checked.sources,
                )
            # Everything the planner needs from disk was read first: planning reads nothing.
            files = plan(checked.chain, inputs, deploy)
        except RecursionError:
            return BuildResult((backstop,), None)
        # A package that does not compile is a chainsc bug (CSC901), never an output. A
        # TrussChainlet's package is the user's Truss directory: its code is not generated.
        carried = tuple(
            f"{package_dir_name(c.display_name)}/"
            for c in checked.chain.chainlets
            if c.kind is ir.ChainletKind.TRUSS
        )
        broken, generated = generated_code_errors(
            {path: data for path, data in files.items() if not path.startswith(carried)}
            if carried
            else files
        )
        if broken:
            return BuildResult(
                sort_diagnostics([*checked.diagnostics, *broken]),
                None,
                {**checked.sources, **generated},
            )
        return BuildResult(checked.diagnostics, files, checked.sources, inputs.reads)


def build_inputs(
    path: str | Path, options: CheckOptions | None = None
) -> tuple[CheckResult, PlanInputs | None]:
    """Check a chain file and read everything its build needs from disk (the load stage).

    The inputs are None when the chain has errors; `chainsc.emit.plan.plan(result.chain,
    inputs)` then plans the build without reading anything.
    """
    from chainsc.emit.inputs import load_inputs  # noqa: PLC0415 - the back end only for builds

    checked, program = _check_file(path, options or CheckOptions())
    if checked.chain is None or program is None:
        return checked, None
    return checked, load_inputs(checked.chain, program)


#: The start of the message of `recursion_backstop`: a test that finds it has found a bug.
RECURSION_BACKSTOP = "chainsc could not follow how deeply this chain nests"


def recursion_backstop(path: str | Path) -> Diagnostic:
    """CSC020 for a RecursionError that escaped every stage: the input is too deep, somewhere.

    Every stage bounds or iterates what the input can make deep (`chainsc.nesting`,
    the resolver and evaluator loops), so this is only a backstop: a user input is
    never an internal error, even where chainsc failed to name the place.
    """
    return error(
        "CSC020",
        f"{RECURSION_BACKSTOP} (Python's recursion limit was reached); the place could not be named",
        Span.whole_file(Path(path).name),
        help="split deeply nested expressions and long chains of names; please report this with the chain file",
    )


def _check_file(
    path: str | Path, options: CheckOptions
) -> tuple[CheckResult, Program | None]:
    # Absolute and normalised (`..` removed as the user spelled it): paths under the
    # root are then plain relative paths (`chainsc.confine`).
    chain_path = absolute(path)
    root = (
        absolute(options.root) if options.root is not None else default_root(chain_path)
    )
    program, main = load_program(chain_path, root)
    if main is None:
        return CheckResult(
            sort_diagnostics(program.diagnostics), None, dict(program.sources)
        ), None
    extracted = extract_chain(
        program, main, ExtractOptions(entrypoint=options.entrypoint)
    )
    if program.diagnostics:
        # A local module that cannot be read or parsed: the other findings would be
        # guesses about names it defines (`X` "is not defined"), so report only that.
        return CheckResult(
            sort_diagnostics(program.diagnostics), None, dict(program.sources)
        ), None
    # What extraction could not represent, and what the rules find in what it saw.
    diagnostics = without_shadowed(
        [*extracted.diagnostics, *check_observations(extracted.observations)]
    )
    if extracted.chain is not None:
        diagnostics.extend(validate_chain(extracted.chain))
        if not has_errors(diagnostics):
            # The files the packages' code names (links out of the root), then what each
            # package imports against what it declares: only for a valid chain, whose
            # packages and requirements are known.
            diagnostics.extend(data_file_diagnostics(extracted.chain, program))
        if not has_errors(diagnostics):
            diagnostics.extend(requirement_diagnostics(extracted.chain, program))
    ordered = sort_diagnostics(diagnostics)
    chain = extracted.chain if not has_errors(ordered) else None
    # Every file read, including local modules that failed to parse (their syntax errors).
    return CheckResult(ordered, chain, dict(program.sources)), program
