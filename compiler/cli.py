"""The `chainsc` command line: a thin layer over `chainsc.api`.

Renders diagnostics and maps results to exit codes: 0 ok, 1 the chain has
errors, 2 usage error (click), 3 internal error. The only module that prints.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from chainsc import api

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
        click.echo(render_text(diagnostics, result.sources), nl=False, err=True)
        errors = sum(1 for d in diagnostics if d.severity is Severity.ERROR)
        warnings = sum(1 for d in diagnostics if d.severity is Severity.WARNING)
        click.echo(
            f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}",
            err=True,
        )


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


_chain_argument = click.argument(
    "chain", type=click.Path(exists=True, dir_okay=False, path_type=Path)
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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="chainsc")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """chainsc: compile Truss Chains statically, without running them."""
    ctx.obj = {"debug": debug}


@cli.command()
@_chain_argument
@_root_option
@_entrypoint_option
@_format_option
def check(
    chain: Path, root: Path | None, entrypoint: str | None, output_format: str
) -> None:
    """Check CHAIN and report diagnostics; exit 1 on errors."""
    result = _check(chain, root, entrypoint)
    _emit_diagnostics(result, output_format)
    if result.has_errors:
        raise SystemExit(EXIT_ERRORS)


@cli.command()
@_chain_argument
@_root_option
@_entrypoint_option
@click.option("--json", "as_json", is_flag=True, help="Print the IR as JSON.")
def inspect(
    chain: Path, root: Path | None, entrypoint: str | None, as_json: bool
) -> None:
    """Print the IR of CHAIN (a summary, or JSON with --json)."""
    from chainsc.ir_dump import dump_json, dump_text  # noqa: PLC0415 - only this command needs it

    result = _check(chain, root, entrypoint)
    _emit_diagnostics(result, "text")
    if result.chain is None:
        raise SystemExit(EXIT_ERRORS)
    click.echo(
        dump_json(result.chain) if as_json else dump_text(result.chain), nl=False
    )


@cli.command()
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

    result = _check(chain, root, entrypoint)
    _emit_diagnostics(result, "text")
    if result.chain is None:
        raise SystemExit(EXIT_ERRORS)
    renderers = {"mermaid": render_mermaid, "dot": render_dot, "json": render_json}
    click.echo(renderers[graph_format](result.chain), nl=False)


@cli.command()
@_chain_argument
@click.option(
    "-o",
    "--output",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output directory: owned by chainsc (it tracks what it wrote in chain.json).",
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
    chain: Path,
    out_dir: Path,
    root: Path | None,
    entrypoint: str | None,
    check_only: bool,
    force: bool,
    deploy_targets: tuple[str, ...],
    output_format: str,
) -> None:
    """Compile CHAIN into one package per Chainlet under OUTPUT."""
    from chainsc import api  # noqa: PLC0415
    from chainsc.emit.deploy import DeployOptions  # noqa: PLC0415

    # A build is one short pass that frees nothing it could reuse: the cyclic GC
    # would only walk the syntax trees again and again (0.3 s at 1,000 Chainlets).
    gc.disable()
    from chainsc.write import WriteRefused, diff_tree, write_tree  # noqa: PLC0415

    _require_inside(chain, root)
    deploy = DeployOptions.of(deploy_targets)
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
            click.echo(f"{out_dir}: up to date ({len(result.files)} files)", err=True)
            return
        click.echo(diff.text, nl=False)
        click.echo(
            f"{out_dir}: {len(diff.changed)} changed, {len(diff.missing)} missing, {len(diff.extra)} extra; "
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
    click.echo(
        f"{out_dir}: {len(written.written)} written, {len(written.unchanged)} unchanged, {len(written.removed)} removed",
        err=True,
    )


@cli.command()
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


@cli.command()
@click.option(
    "--url",
    default="http://127.0.0.1:8000",
    show_default=True,
    help="Base URL of the entrypoint.",
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
def call(url: str, body: str, timeout: float) -> None:
    """Call the entrypoint of a running chain and print its reply (streams as it arrives)."""
    from chainsc.run import RunError, call_chain  # noqa: PLC0415

    try:
        json.loads(body)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(
            f"not valid JSON: {exc}", param_hint="'--json'"
        ) from None
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


@cli.command()
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

\b
Examples:
  chainsc breaking old-out/ out/
  chainsc breaking --against origin/main out/ --format github
"""


@cli.command(help=_BREAKING_HELP)
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
