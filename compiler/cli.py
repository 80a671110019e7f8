"""The `chainsc` command line: a thin layer over `chainsc.api`.

Renders diagnostics and maps results to exit codes: 0 ok, 1 the chain has
errors, 2 usage error (click), 3 internal error. The only module that prints.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from chainsc.wording import plural

if TYPE_CHECKING:
    from chainsc import api, fastcheck
    from chainsc.diagnostics import Styler
    from chainsc.project import ChainConfig, ChainJob
    from chainsc.write import StalePackage

EXIT_OK = 0
EXIT_ERRORS = 1
EXIT_USAGE = 2  # click's own code for a bad option or argument
EXIT_INTERNAL = 3

_FORMATS = click.Choice(["text", "json", "github"])


def _emit_diagnostics(
    result: api.CheckResult | api.BuildResult, output_format: str
) -> None:
    from chainsc.diagnostics import Severity, render_github, render_json, render_text  # noqa: PLC0415

    diagnostics = result.diagnostics
    if output_format == "json":
        click.echo(render_json(diagnostics), nl=False)
        return
    if output_format == "github":
        click.echo(render_github(diagnostics), nl=False)
        return
    if diagnostics:
        color = _use_color()
        style = _styler(color)
        click.echo(
            render_text(diagnostics, result.sources, style),
            nl=False,
            err=True,
            color=color,
        )
        errors = sum(1 for d in diagnostics if d.severity is Severity.ERROR)
        warnings = sum(1 for d in diagnostics if d.severity is Severity.WARNING)
        counted = [plural(errors, "error"), plural(warnings, "warning")]
        click.echo(
            style("error" if errors else "warning", counted[0])
            + ", "
            + style("warning" if warnings else "plain", counted[1]),
            err=True,
            color=color,
        )


#: Colours of the roles `diagnostics.render_text` styles (and of the CLI's own lines).
_STYLES: dict[str, dict[str, object]] = {
    "error": {"fg": "red", "bold": True},
    "warning": {"fg": "yellow", "bold": True},
    "note": {"fg": "cyan", "bold": True},
    "code": {"bold": True},
    "location": {"bold": True},
    "gutter": {"fg": "blue", "bold": True},
    "caret": {"fg": "red", "bold": True},
    "help": {"fg": "cyan", "bold": True},
    "ok": {"fg": "green"},
}


def _use_color(err: bool = True) -> bool:
    """Colour on a terminal: `--color/--no-color` first, then NO_COLOR (no-color.org), then a tty."""
    ctx = click.get_current_context(silent=True)
    chosen = ctx.find_root().obj.get("color") if ctx and ctx.find_root().obj else None
    if chosen is not None:
        return bool(chosen)
    if os.environ.get("NO_COLOR"):
        return False
    stream = sys.stderr if err else sys.stdout
    return stream.isatty()


def _styler(color: bool) -> Styler:
    """`style(role, text)` for `render_text`: ANSI styles when `color`, else the text as it is."""

    def style(role: str, text: str) -> str:
        spec = _STYLES.get(role)
        if not color or spec is None:
            return text
        return click.style(text, **spec)  # type: ignore[arg-type]

    return style


def _say(text: str, role: str = "plain") -> None:
    """A line of the CLI's own on stderr, styled for `role` on a terminal."""
    color = _use_color()
    click.echo(_styler(color)(role, text), err=True, color=color)


#: Seconds a build runs before its progress line appears (only on a terminal).
PROGRESS_AFTER = 1.0


@contextlib.contextmanager
def _progress(what: str) -> Iterator[None]:
    """A line on stderr saying what runs, for how long, once it takes over PROGRESS_AFTER s.

    Only on a terminal, and erased when done, so nothing of it stays in a log or
    between the lines that follow.
    """
    stream = sys.stderr
    if not stream.isatty():
        yield
        return
    start = time.monotonic()
    done = threading.Event()
    shown = threading.Event()

    def show() -> None:
        if done.wait(PROGRESS_AFTER):
            return
        while not done.is_set():
            stream.write(f"\r\x1b[Kchainsc: {what} ({time.monotonic() - start:.1f} s)")
            stream.flush()
            shown.set()
            done.wait(0.25)

    thread = threading.Thread(target=show, name="chainsc-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        if shown.is_set():
            stream.write("\r\x1b[K")
            stream.flush()


def _check(chain: Path, root: Path | None, entrypoint: str | None) -> api.CheckResult:
    # Imported here so `--help` and `--version` start fast (libcst alone takes ~0.2 s).
    from chainsc import api  # noqa: PLC0415

    # One short pass, as a build is: the IR's spans keep the syntax trees alive (they are
    # located only when read), so a cyclic GC turned back on would walk ~800,000 objects
    # at 1,000 Chainlets (0.3-0.7 s) to free nothing.
    gc.disable()
    _require_inside(chain, root)
    return api.check_file(chain, api.CheckOptions(root=root, entrypoint=entrypoint))


def _require_inside(chain: Path, root: Path | None) -> None:
    """A `--root` that does not contain the chain file is a usage error (the library reports CSC011)."""
    from chainsc.confine import absolute  # noqa: PLC0415

    if root is not None and not absolute(chain).is_relative_to(absolute(root)):
        raise click.BadParameter(
            f"`{root}` does not contain the chain file `{chain}`", param_hint="'--root'"
        )


def _project_error(message: str) -> SystemExit:
    """A wrong `[tool.chainsc]`: said plainly, a usage error (exit 2)."""
    _say(f"chainsc: {message}", "error")
    return SystemExit(EXIT_USAGE)


def _table_for(chain: Path) -> ChainConfig | None:
    """The `[[tool.chainsc.chain]]` table of CHAIN in the nearest pyproject.toml above it."""
    from chainsc.project import (  # noqa: PLC0415
        ProjectError,
        find_pyproject,
        load_project,
        shown,
    )

    pyproject = find_pyproject(chain.absolute().parent)
    if pyproject is None:
        return None
    try:
        table = load_project(shown(pyproject)).chain_for(chain)
    except ProjectError as exc:
        raise _project_error(str(exc)) from None
    if table is not None:
        _require_usable(table)
    return table


def _require_usable(table: ChainConfig) -> None:
    """The table's paths name what they must: a chain file, a root directory holding it."""
    where = f"{table.pyproject}: [[tool.chainsc.chain]] table {table.index}"
    if not table.file.is_file():
        raise _project_error(f"{where}: `file` {table.file} is not a file")
    if table.root is not None:
        if not table.root.is_dir():
            raise _project_error(f"{where}: `root` {table.root} is not a directory")
        if not table.file.resolve().is_relative_to(table.root.resolve()):
            raise _project_error(
                f"{where}: `root` {table.root} does not contain the chain file {table.file}"
            )


def _configured_tables() -> tuple[ChainConfig, ...]:
    """Every chain the nearest pyproject.toml above the working directory configures."""
    from chainsc.project import (  # noqa: PLC0415
        ProjectError,
        find_pyproject,
        load_project,
        shown,
    )

    pyproject = find_pyproject(Path.cwd())
    if pyproject is None:
        raise click.UsageError(
            "no CHAIN given, and no pyproject.toml here or above to list the chains "
            "([[tool.chainsc.chain]] tables)"
        )
    try:
        chains = load_project(shown(pyproject)).chains
    except ProjectError as exc:
        raise _project_error(str(exc)) from None
    if not chains:
        raise click.UsageError(
            f"no CHAIN given, and {shown(pyproject)} configures no chain "
            "(add a [[tool.chainsc.chain]] table with `file` and `output`)"
        )
    for table in chains:
        _require_usable(table)
    return chains


def _jobs(
    chain: Path | None,
    out_dir: Path | None,
    root: Path | None,
    entrypoint: str | None,
    deploy_targets: tuple[str, ...],
) -> list[ChainJob]:
    """What to check or build: CHAIN with its table (flags override), or every configured chain."""
    if chain is None:
        flags = [
            name
            for name, value in (
                ("-o/--output", out_dir),
                ("--root", root),
                ("--entrypoint", entrypoint),
            )
            if value is not None
        ]
        if flags:
            raise click.UsageError(
                f"{', '.join(flags)} need a CHAIN (with none, each configured chain's "
                "table in pyproject.toml says them)"
            )
        tables: tuple[ChainConfig | None, ...] = _configured_tables()
    else:
        tables = (_table_for(chain),)
    from chainsc.project import job_for  # noqa: PLC0415

    return [
        job_for(
            table,
            chain,
            out_dir=out_dir,
            root=root,
            entrypoint=entrypoint,
            deploy_targets=deploy_targets,
        )
        for table in tables
    ]


def _examples(*lines: str) -> str:
    """A command's `--help` epilog: examples, kept as written (click's no-rewrap mark)."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


_chain_argument = click.argument(
    "chain", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
#: CHAIN for `check` and `build`: with none, every chain pyproject.toml configures.
_configured_chain_argument = click.argument(
    "chain",
    required=False,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
_root_option = click.option(
    "--root",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Package root the chain's imports are relative to, and the only directory it may read files from (default: nearest ancestor that is not a package).",
)
_entrypoint_option = click.option(
    "--entrypoint",
    metavar="NAME",
    help="Entrypoint Chainlet, for files that mark none.",
)
_format_option = click.option(
    "--format",
    "output_format",
    type=_FORMATS,
    default="text",
    show_default=True,
    help="Diagnostics format.",
)


@click.group(
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=_examples(
        "chainsc check chain.py",
        "chainsc build chain.py -o out/",
        "chainsc build            # every chain [tool.chainsc] in pyproject.toml lists",
        "chainsc run out/         # then, in another shell:",
        'chainsc call --json \'{"name": "World"}\'',
    ),
)
@click.version_option(package_name="chainsc")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
@click.option(
    "--color/--no-color",
    default=None,
    help="Colour the output (default: on a terminal, unless NO_COLOR is set).",
)
@click.pass_context
def cli(ctx: click.Context, debug: bool, color: bool | None) -> None:
    """chainsc: compile Truss Chains statically, without running them."""
    ctx.obj = {"debug": debug, "color": color}


@cli.command(
    epilog=_examples(
        "chainsc check chain.py",
        "chainsc check chain.py --entrypoint Hello --format github",
        "chainsc check            # every chain [tool.chainsc] in pyproject.toml lists",
    )
)
@_configured_chain_argument
@_root_option
@_entrypoint_option
@_format_option
def check(
    chain: Path | None, root: Path | None, entrypoint: str | None, output_format: str
) -> None:
    """Check CHAIN and report diagnostics; exit 1 on errors.

    The nearest pyproject.toml's [[tool.chainsc.chain]] table whose `file` is
    CHAIN gives the options the flags do not; with no CHAIN, every chain it
    lists is checked.
    """
    from chainsc import api  # noqa: PLC0415

    results = [
        _check(job.chain, job.root, job.entrypoint)
        for job in _jobs(chain, None, root, entrypoint, ())
    ]
    if output_format == "json" and len(results) > 1:  # one JSON document
        from chainsc.diagnostics import sort_diagnostics  # noqa: PLC0415

        results = [
            api.CheckResult(
                diagnostics=tuple(
                    sort_diagnostics([d for r in results for d in r.diagnostics])
                ),
                chain=None,
                sources={k: v for r in results for k, v in r.sources.items()},
            )
        ]
    for result in results:
        _emit_diagnostics(result, output_format)
    if any(result.has_errors for result in results):
        raise SystemExit(EXIT_ERRORS)


@cli.command(
    epilog=_examples("chainsc inspect chain.py", "chainsc inspect chain.py --json")
)
@_chain_argument
@_root_option
@_entrypoint_option
@click.option("--json", "as_json", is_flag=True, help="Print the IR as JSON.")
def inspect(
    chain: Path, root: Path | None, entrypoint: str | None, as_json: bool
) -> None:
    """Print the IR of CHAIN (a summary, or JSON with --json)."""
    from chainsc.ir_dump import dump_json, dump_text  # noqa: PLC0415 - only this command needs it

    (job,) = _jobs(chain, None, root, entrypoint, ())  # pyproject.toml's options
    result = _check(chain, job.root, job.entrypoint)
    _emit_diagnostics(result, "text")
    if result.chain is None:
        raise SystemExit(EXIT_ERRORS)
    click.echo(
        dump_json(result.chain) if as_json else dump_text(result.chain), nl=False
    )


@cli.command(
    epilog=_examples(
        "chainsc graph chain.py > graph.mmd",
        "chainsc graph chain.py --format dot | dot -Tsvg > graph.svg",
    )
)
@_chain_argument
@_root_option
@_entrypoint_option
@click.option(
    "--format",
    "graph_format",
    type=click.Choice(["mermaid", "dot", "json"]),
    default="mermaid",
    show_default=True,
    help="Graph format: a Mermaid flowchart, Graphviz DOT, or JSON.",
)
def graph(
    chain: Path, root: Path | None, entrypoint: str | None, graph_format: str
) -> None:
    """Print the dependency graph of CHAIN (Chainlets and their depends edges)."""
    from chainsc.graph_render import render_dot, render_json, render_mermaid  # noqa: PLC0415 - only this command needs it

    (job,) = _jobs(chain, None, root, entrypoint, ())  # pyproject.toml's options
    result = _check(chain, job.root, job.entrypoint)
    _emit_diagnostics(result, "text")
    if result.chain is None:
        raise SystemExit(EXIT_ERRORS)
    renderers = {"mermaid": render_mermaid, "dot": render_dot, "json": render_json}
    click.echo(renderers[graph_format](result.chain), nl=False)


@cli.command(
    epilog=_examples(
        "chainsc build chain.py -o out/",
        "chainsc build chain.py -o out/ --check   # in CI: exit 1 if out/ is stale",
        "chainsc build chain.py -o out/ --with kubernetes",
        "chainsc build            # every chain [tool.chainsc] in pyproject.toml lists",
    )
)
@_configured_chain_argument
@click.option(
    "-o",
    "--output",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Output directory: owned by chainsc (it tracks what it wrote in chain.json). "
    "Required unless pyproject.toml's table for CHAIN names an `output`.",
)
@_root_option
@_entrypoint_option
@click.option(
    "--check",
    "check_only",
    is_flag=True,
    help="Write nothing; exit 1 with a diff if OUTPUT differs from a fresh build.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Use a non-empty OUTPUT that chainsc did not write (never deletes files it did not write).",
)
@click.option(
    "--with",
    "deploy_targets",
    multiple=True,
    type=click.Choice(["docker", "kubernetes"]),
    help="Also write deployment files (repeatable): docker, a Dockerfile per package; "
    "kubernetes, manifests and a kustomization under OUTPUT/deploy/kubernetes/ (implies docker).",
)
@_format_option
def build(  # noqa: PLR0917 - click passes every option as a parameter
    chain: Path | None,
    out_dir: Path | None,
    root: Path | None,
    entrypoint: str | None,
    check_only: bool,
    force: bool,
    deploy_targets: tuple[str, ...],
    output_format: str,
) -> None:
    """Compile CHAIN into one package per Chainlet under OUTPUT.

    The nearest pyproject.toml's [[tool.chainsc.chain]] table whose `file` is
    CHAIN gives the options the flags do not; with no CHAIN, every chain it
    lists is built (or checked, with --check; the exit code is the worst).
    """
    jobs = _jobs(chain, out_dir, root, entrypoint, deploy_targets)
    worst = EXIT_OK
    for job in jobs:
        if job.out_dir is None:
            raise click.UsageError(
                "Missing option '-o' / '--output' (or an `output` in the chain's "
                "[[tool.chainsc.chain]] table in pyproject.toml)."
            )
        try:
            _build_one(
                job.chain,
                job.out_dir,
                job.root,
                job.entrypoint,
                check_only,
                force,
                job.deploy_targets,
                output_format,
            )
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else EXIT_ERRORS
            if len(jobs) == 1 or code == EXIT_INTERNAL:
                raise
            worst = max(worst, code)
    if worst:
        raise SystemExit(worst)


def _build_one(  # noqa: PLR0917 - the options of `build`, for one chain
    chain: Path,
    out_dir: Path,
    root: Path | None,
    entrypoint: str | None,
    check_only: bool,
    force: bool,
    deploy_targets: tuple[str, ...],
    output_format: str,
) -> None:
    """Compile one chain into one package per Chainlet under `out_dir` (or `--check` it)."""
    from chainsc import fastcheck  # noqa: PLC0415 - the standard library only

    _require_inside(chain, root)
    request = fastcheck.Request(chain, out_dir, root, entrypoint, deploy_targets)
    if _up_to_date(request, check_only, output_format):
        return
    from chainsc import api  # noqa: PLC0415
    from chainsc.emit.deploy import DeployOptions  # noqa: PLC0415

    # A build is one short pass that frees nothing it could reuse: the cyclic GC
    # would only walk the syntax trees again and again (0.3 s at 1,000 Chainlets).
    gc.disable()
    from chainsc.confine import absolute  # noqa: PLC0415
    from chainsc.write import (  # noqa: PLC0415
        WriteRefused,
        diff_tree,
        stale_packages,
        write_tree,
    )

    deploy = DeployOptions.of(deploy_targets)
    before = fastcheck.begin(
        request, root if root is not None else api.default_root(absolute(chain))
    )
    with _progress(f"building {chain}"):
        result = api.build_file(
            chain, api.CheckOptions(root=root, entrypoint=entrypoint), deploy
        )
    _emit_diagnostics(result, output_format)
    if any(diagnostic.code == "CSC901" for diagnostic in result.diagnostics):
        raise SystemExit(
            EXIT_INTERNAL
        )  # generated code that does not compile: a chainsc bug
    if result.files is None:
        raise SystemExit(EXIT_ERRORS)
    if check_only:
        diff = diff_tree(out_dir, result.files)
        if diff.is_clean:
            fastcheck.save(
                before, result.reads, result.files, diagnostics=len(result.diagnostics)
            )
            _say(f"{out_dir}: up to date ({plural(len(result.files), 'file')})", "ok")
            return
        click.echo(diff.text, nl=False)
        _echo_stale(out_dir, diff.stale)
        click.echo(
            f"{out_dir}: {len(diff.changed)} changed, {len(diff.missing)} missing, {len(diff.extra)} extra"
            + (f", {len(diff.stale)} stale" if diff.stale else "")
            + "; "
            f"run `chainsc build {chain} -o {out_dir}"
            + "".join(f" --with {target}" for target in sorted(set(deploy_targets)))
            + "` to update",
            err=True,
        )
        raise SystemExit(EXIT_ERRORS)
    written = write_tree(out_dir, result.files, force=force)
    if isinstance(written, WriteRefused):
        click.echo(f"chainsc: {written.reason}", err=True)
        raise SystemExit(EXIT_USAGE if written.bad_output_path else EXIT_ERRORS)
    fastcheck.save(
        before, result.reads, result.files, diagnostics=len(result.diagnostics)
    )
    _echo_stale(out_dir, stale_packages(out_dir, result.files))
    click.echo(
        f"{out_dir}: {len(written.written)} written, {len(written.unchanged)} unchanged, {len(written.removed)} removed",
        err=True,
    )


def _up_to_date(
    request: fastcheck.Request, check_only: bool, output_format: str
) -> bool:
    """The fast path of `build`: say so and stop when nothing changed (`chainsc.fastcheck`).

    Prints what the slow path prints for a build without diagnostics (only those get a stamp).
    """
    from chainsc import fastcheck  # noqa: PLC0415

    count = fastcheck.verdict(request, for_build=not check_only)
    if count is None:
        return False
    fastcheck.report(request, count, check_only, output_format)
    return True


def _echo_stale(out_dir: Path, stale: tuple[StalePackage, ...]) -> None:
    """Name each stale package directory (`chainsc.write.stale_packages`) on stderr."""
    for package in stale:
        shown = f"{out_dir.as_posix().rstrip('/')}/{package.name}/"
        if package.removable:
            click.echo(
                f"{shown}: a package an earlier build wrote that chain.json no longer lists; "
                "`chainsc build` removes it",
                err=True,
            )
        else:
            click.echo(
                f"{shown}: a package an earlier build wrote that chain.json no longer lists, "
                "holding files chainsc did not write: not removed; move or delete it",
                err=True,
            )


@cli.command(
    epilog=_examples(
        "chainsc run out/",
        "chainsc run out/ --port 8080 --isolated",
        "chainsc run out/ --service Engine=http://127.0.0.1:9000",
    )
)
@click.argument(
    "out_dir", type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port of the entrypoint (others get free loopback ports).",
)
@click.option(
    "--isolated",
    is_flag=True,
    help="Run each package in a virtualenv of its own requirements (made with uv, cached in $CHAINSC_CACHE_DIR).",
)
@click.option(
    "--service",
    "services",
    multiple=True,
    metavar="NAME=URL",
    help="Do not run Chainlet NAME: its callers post to URL as it is (an engine "
    "builder's engine you serve, or any Chainlet run elsewhere). Repeatable.",
)
@click.pass_context
def run(
    ctx: click.Context,
    out_dir: Path,
    port: int,
    isolated: bool,
    services: tuple[str, ...],
) -> None:
    """Serve every package of a built chain on 127.0.0.1 until Ctrl-C."""
    from chainsc.run import RunError, run_chain  # noqa: PLC0415

    external: dict[str, str] = {}
    for item in services:
        name, equals, url = item.partition("=")
        if not equals or not name or not url.startswith(("http://", "https://")):
            raise click.BadParameter(
                f"`{item}`: expected NAME=URL, the URL http:// or https://",
                param_hint="--service",
            )
        external[name] = url
    try:
        code = run_chain(
            out_dir,
            port,
            echo=click.echo,
            isolated=isolated,
            debug=bool(ctx.obj["debug"]),
            external=external,
        )
    except RunError as exc:
        click.echo(f"chainsc: {exc}", err=True)
        raise SystemExit(EXIT_ERRORS) from None
    raise SystemExit(code)


@cli.command(
    epilog=_examples(
        'chainsc call --json \'{"name": "World"}\'',
        'chainsc call --url http://127.0.0.1:8080 --json \'{"name": "World"}\'',
    )
)
@click.option(
    "--url",
    default=None,
    help="Base URL of the entrypoint (default: the chain `chainsc run` or `chainsc dev` "
    "serves: the latest one started in this directory, else the latest one).",
)
@click.option(
    "--json",
    "body",
    required=True,
    metavar="JSON",
    help="The arguments of the entrypoint, by name.",
)
@click.option(
    "--timeout",
    default=600.0,
    show_default=True,
    type=float,
    help="Seconds to wait for the reply.",
)
def call(url: str | None, body: str, timeout: float) -> None:
    """Call the entrypoint of a running chain and print its reply (streams as it arrives)."""
    from chainsc.run import RunError, call_chain  # noqa: PLC0415

    try:
        json.loads(body)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(
            f"not valid JSON: {exc}", param_hint="'--json'"
        ) from None
    if url is None:
        url = _running_url()
    stream = sys.stdout.buffer

    def write(chunk: bytes) -> None:
        stream.write(chunk)
        stream.flush()

    try:
        code = call_chain(url, body, timeout, write)
    except RunError as exc:
        click.echo(f"chainsc: {exc}", err=True)
        raise SystemExit(EXIT_ERRORS) from None
    stream.write(b"\n")
    raise SystemExit(code)


def _running_url() -> str:
    """The entrypoint URL of the running chain `call` means (see `run.find_running`)."""
    from chainsc.run import find_running, state_dir  # noqa: PLC0415

    running = find_running(Path.cwd())
    if running is None:
        click.echo(
            "chainsc: no running chain found (none recorded in "
            f"{state_dir()}): start one with `chainsc run OUT` or `chainsc dev CHAIN.py`, "
            "or pass --url",
            err=True,
        )
        raise SystemExit(EXIT_ERRORS)
    click.echo(
        f"chainsc: calling `{running.entrypoint}` at {running.url} "
        f"(chainsc {running.command}, pid {running.pid})",
        err=True,
    )
    return running.url


@cli.command(
    epilog=_examples(
        "chainsc dev chain.py --port 8000",
        'chainsc call --json \'{"text": "hi"}\'     # in another terminal',
    )
)
@_chain_argument
@_root_option
@_entrypoint_option
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port of the entrypoint (others get free loopback ports, kept across rebuilds).",
)
@click.pass_context
def dev(
    ctx: click.Context,
    chain: Path,
    root: Path | None,
    entrypoint: str | None,
    port: int,
) -> None:
    """Build CHAIN, serve it, and on every save rebuild and restart only what changed.

    The packages are built into the dev cache ($CHAINSC_CACHE_DIR/dev/, default
    ~/.cache/chainsc/dev/), served as `chainsc run` serves them, and every file under
    the chain root is watched. On a save, only the packages whose bytes changed
    restart; the others keep running. A build error is shown and the running chain
    stays up. `chainsc call` finds the chain without --url. Needs chainsc[run,watch].
    """
    from chainsc.dev import DevOptions, dev_chain  # noqa: PLC0415
    from chainsc.run import RunError  # noqa: PLC0415

    _require_inside(chain, root)
    options = DevOptions(
        chain=chain,
        root=root,
        entrypoint=entrypoint,
        port=port,
        debug=bool(ctx.obj["debug"]),
    )
    try:
        code = dev_chain(
            options,
            echo=click.echo,
            report=lambda result: _emit_diagnostics(result, "text"),
        )
    except RunError as exc:
        click.echo(f"chainsc: {exc}", err=True)
        raise SystemExit(EXIT_ERRORS) from None
    raise SystemExit(code)


@cli.command(
    "run-local",
    context_settings={"ignore_unknown_options": True},
    epilog=_examples(
        "chainsc run-local chain.py",
        'chainsc run-local chain.py --json \'{"text": "hi"}\'',
    ),
)
@_chain_argument
@click.option(
    "--json",
    "body",
    metavar="JSON",
    help="Instead of the file's __main__ block: call the entrypoint with these "
    "arguments (by name) inside run_local() and print the result as JSON.",
)
@_entrypoint_option
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def run_local(
    chain: Path, body: str | None, entrypoint: str | None, args: tuple[str, ...]
) -> None:
    """Run an unmodified Truss chain file in this process, with chainsc's runtime.

    Unlike every other command, this EXECUTES the chain file, as `python CHAIN.py`
    would: `import truss_chains` (and `truss_chains.<module>`) is answered by
    chainsc_runtime, so the file's `if __name__ == "__main__":` block with
    `with chains.run_local(): ...` runs without editing it or installing truss.
    ARGS after the file are its sys.argv. Needs chainsc[run] (the runtime's
    requirements).
    """
    import signal  # noqa: PLC0415
    import subprocess  # noqa: PLC0415

    command = [sys.executable, "-m", "chainsc_runtime.run_file"]
    if body is not None:
        try:
            json.loads(body)
        except json.JSONDecodeError as exc:
            raise click.BadParameter(
                f"not valid JSON: {exc}", param_hint="'--json'"
            ) from None
        command += ["--call", body]
        if entrypoint is not None:
            command += ["--entrypoint", entrypoint]
    elif entrypoint is not None:
        raise click.BadParameter(
            "only with --json (the __main__ block chooses what it runs)",
            param_hint="'--entrypoint'",
        )
    command += [str(chain), *args]
    # Ctrl-C goes to the chain (same terminal): it decides how to stop.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        code = subprocess.call(command)
    finally:
        signal.signal(signal.SIGINT, previous)
    raise SystemExit(code if code >= 0 else 128 - code)


@cli.command(
    epilog=_examples(
        "chainsc push out/ --dryrun",
        "chainsc push out/ --environment staging",
    )
)
@click.argument(
    "out_dir", type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@click.option(
    "--name",
    metavar="NAME",
    help="Name of the chain on Baseten (default: as the chain file names it, its entrypoint's display name unless `mark_entrypoint` names the chain).",
)
@click.option(
    "--publish/--no-publish",
    default=None,
    help="A published deployment (the default, as `truss chains push`); --no-publish: a development deployment.",
)
@click.option(
    "--promote/--no-promote",
    default=False,
    help="Deploy to the production environment (replacing its Chainlets).",
)
@click.option(
    "--environment",
    metavar="ENV",
    help="Deploy as a published deployment to this environment (implies --publish; --promote is then ignored).",
)
@click.option(
    "--deployment-name",
    metavar="NAME",
    help="Name of the published deployment (letters, digits, -, _ and .).",
)
@click.option(
    "--remote",
    metavar="NAME",
    help="The remote in ~/.trussrc to push to (default: the only one there is).",
)
@click.option(
    "--wait/--no-wait",
    default=True,
    show_default=True,
    help="Wait until every Chainlet is ready (or the deployment failed).",
)
@click.option(
    "--dryrun",
    is_flag=True,
    default=False,
    help="Check every package with truss and print what would be uploaded; upload nothing.",
)
@click.pass_context
def push(  # noqa: PLR0917 - click passes every option as a parameter
    ctx: click.Context,
    out_dir: Path,
    name: str | None,
    publish: bool | None,
    promote: bool,
    environment: str | None,
    deployment_name: str | None,
    remote: str | None,
    wait: bool,
    dryrun: bool,
) -> None:
    """Push the packages of a built chain to Baseten as one chain (needs chainsc[baseten])."""
    from chainsc import push as pushing  # noqa: PLC0415 - imports truss, lazily

    options = pushing.PushOptions(
        name=name,
        publish=publish,
        promote=promote,
        environment=environment,
        deployment_name=deployment_name,
        remote=remote,
        wait=wait,
        dryrun=dryrun,
    )
    try:
        pushing.push(
            out_dir,
            options,
            echo=click.echo,
            note=lambda text: click.echo(text, err=True),
        )
    except pushing.PushError as exc:
        if ctx.obj["debug"] and exc.__cause__ is not None:
            traceback.print_exception(exc.__cause__)
        click.echo(f"chainsc: {exc}", err=True)
        raise SystemExit(EXIT_USAGE if exc.usage else EXIT_ERRORS) from None


_BREAKING_HELP = """Classify the endpoint changes between two builds as breaking or safe for callers.

Compares the endpoint schemas chain.json records (`chainsc build` writes them): a removed,
renamed or newly required parameter, a narrowed parameter type, a removed default, a
widened return type, streaming or websocket toggled, a removed Chainlet or a new
entrypoint break callers; a new optional parameter, a widened parameter type, a new
Chainlet or a docstring are safe. Exit 1 when a change breaks callers, 0 otherwise, 2 for
bad input.
"""


@cli.command(
    help=_BREAKING_HELP,
    epilog=_examples(
        "chainsc breaking old-out/ out/",
        "chainsc breaking --against origin/main out/ --format github",
    ),
)
@click.argument(
    "outputs", nargs=-1, metavar="[OLD_OUT] OUT", type=click.Path(path_type=Path)
)
@click.option(
    "--against",
    "git_ref",
    metavar="GIT_REF",
    help="Compare OUT with its own chain.json at this git ref (OUT is in a git repository).",
)
@click.option(
    "--format",
    "output_format",
    type=_FORMATS,
    default="text",
    show_default=True,
    help="text, JSON, or GitHub workflow annotations (::error file=...,line=...::).",
)
def breaking(
    outputs: tuple[Path, ...], git_ref: str | None, output_format: str
) -> None:
    """Classify the endpoint changes between two builds as breaking or safe for callers."""
    from chainsc import breaking as checks  # noqa: PLC0415 - only this command needs it

    try:
        if git_ref is not None:
            if len(outputs) != 1:
                raise _BreakingInputError("--against takes one output directory: OUT")
            new = _read_manifest(outputs[0])
            old = _manifest_at_ref(git_ref, outputs[0])
        else:
            if len(outputs) != 2:
                raise _BreakingInputError(
                    "give two output directories (OLD_OUT NEW_OUT), or --against GIT_REF OUT"
                )
            old = _read_manifest(outputs[0])
            new = _read_manifest(outputs[1])
    except (_BreakingInputError, checks.ManifestError) as exc:
        click.echo(f"chainsc: {exc}", err=True)
        raise SystemExit(EXIT_USAGE) from None
    changes = checks.compare(old, new)
    renderers = {
        "text": checks.render_text,
        "json": checks.render_json,
        "github": checks.render_github,
    }
    click.echo(renderers[output_format](changes), nl=False)
    if any(change.severity is checks.Severity.BREAKING for change in changes):
        raise SystemExit(EXIT_ERRORS)


class _BreakingInputError(Exception):
    """Bad input to `chainsc breaking`: exit 2."""


def _read_manifest(out: Path) -> dict[str, object]:
    """OUT's `chain.json`, checked to be chainsc's (with endpoint schemas)."""
    path = out / "chain.json"
    if not path.is_file():
        raise _BreakingInputError(
            f"{out} is not a chainsc output directory (no chain.json)"
        )
    return _parse_manifest(path.read_bytes(), str(path))


def _parse_manifest(data: bytes, where: str) -> dict[str, object]:
    from chainsc import breaking  # noqa: PLC0415 - only this command needs it

    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _BreakingInputError(f"{where} is not valid JSON: {exc}") from None
    return dict(breaking.validate_manifest(document, where))


def _manifest_at_ref(ref: str, out: Path) -> dict[str, object]:
    """OUT's `chain.json` as committed at `ref`, read with `git show` (nothing written)."""
    import subprocess  # noqa: PLC0415 - only this command needs it

    if not out.is_dir():
        raise _BreakingInputError(f"{out} is not a directory")

    def git(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            ["git", "-C", str(out), *args], capture_output=True, check=False
        )

    prefix = git("rev-parse", "--show-prefix")
    if prefix.returncode != 0:
        raise _BreakingInputError(f"{out} is not in a git repository")
    commit = git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if commit.returncode != 0:
        raise _BreakingInputError(f"unknown git ref `{ref}`")
    path = prefix.stdout.decode().strip() + "chain.json"
    shown = git("show", f"{commit.stdout.decode().strip()}:{path}")
    if shown.returncode != 0:
        raise _BreakingInputError(f"{path} does not exist at `{ref}`")
    return _parse_manifest(shown.stdout, f"{ref}:{path}")


def console_main() -> None:
    """The `chainsc` console script: `main`, then exit at once.

    Tearing down the interpreter frees every object one by one, which after a
    large build (about 300 MB of syntax trees and file contents at 1,000
    Chainlets) takes half a second and achieves nothing. `main` has finished
    all its work (children stopped, staging removed, output written) when it
    returns; only the standard streams still need flushing.
    """
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:  # a closed pipe (`chainsc graph ... | head`)
        code = code or 1
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="chainsc", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 1
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    except Exception:
        if debug:
            traceback.print_exc()
        else:
            kind = sys.exc_info()[0]
            name = kind.__name__ if kind is not None else "Exception"
            click.echo(
                f"chainsc: internal error ({name}). This is a bug in chainsc, not in your chain; "
                "please report it with the chain file. Rerun with --debug for the traceback.",
                err=True,
            )
        return EXIT_INTERNAL
    return EXIT_OK
