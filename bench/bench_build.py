"""By-hand benchmark of `chainsc build`, side by side with truss's own generator.

Usage: ``.venv/bin/python bench/bench_build.py [--skip-truss] [--sizes 1,10,...]``

Chains: every ``examples/*/chain.py`` and generated chains of 1, 10, 50, 100,
500 and 1,000 Chainlets (``gen_chain.py --truss-compatible``, each in a
directory of its own, ``bench/generated/build/chain_N/chain.py``, because
truss copies the chain's whole directory into every package).

Tools, each run as a child process, cold start included:

- ``chainsc build CHAIN -o OUT`` (the console script next to this interpreter);
- ``TRUSS_PYTHON bench/truss_generate.py CHAIN --out OUT``: the generate-only
  path of ``truss chains push --dryrun`` (it imports the chain, as truss does).
  TRUSS_PYTHON is ``$CHAINSC_TRUSS_PYTHON``, else ``.ci-truss-venv/bin/python``,
  else a ``bench/.truss-venv``
  created here with ``truss==0.18.36``. truss's generator shells out to
  ``ruff``: the child's PATH starts with this interpreter's bin directory,
  which has chainsc's pinned ruff.

Every command gets a discarded warm-up run into a fresh output directory, then
k measured runs (k = 5 up to 100 Chainlets, else 3), each into a fresh output
directory, all removed when the benchmark ends (``--delete-each-run``: right
after each run, which on ext4 without a journal slows the next run's inode
allocation for about a minute). A warm-up longer than ``--long`` seconds is
the only run. Wall time, the child's peak RSS (``ru_maxrss`` from
``os.wait4``) and its user and system CPU time are recorded. Each truss warm-up runs with
``--forbid-network`` (an audit hook that aborts on any DNS lookup or socket
connection) and, when the kernel allows it, inside ``unshare -rn`` (no
network at all): the benchmark stops if truss tries to reach the network.
truss sizes above 100 run only if the linear projection from the previous two
sizes is under ``--truss-limit`` seconds per run.

``--tmp DIR`` puts the output directories on another filesystem (e.g.
``/dev/shm``): on a VM disk, creating tens of thousands of files in fresh
directories can cost more kernel time than the compiler spends in user space.

``--chainsc-src DIR`` measures the chainsc sources in DIR (e.g. a ``git
worktree`` of another commit) instead of this checkout: the children get
``PYTHONPATH=DIR``, which comes before the editable install on ``sys.path``.

The cold start is reported separately: a child that only imports each tool's
build path, and the top of ``python -X importtime``. The markdown report is
printed and written to ``bench/results/build.md``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
BUILD_CHAINS_DIR = BENCH_DIR / "generated" / "build"
RESULTS_FILE = BENCH_DIR / "results" / "build.md"
TRUSS_GENERATE = BENCH_DIR / "truss_generate.py"
TRUSS_VERSION = "0.18.36"
LOCAL_TRUSS_VENV = BENCH_DIR / ".truss-venv"

SIZES = (1, 10, 50, 100, 500, 1000)
#: truss runs these sizes whatever they cost; larger ones only under --truss-limit.
TRUSS_REQUIRED = (1, 10, 50, 100)
#: Targets: median speedup over truss on every example and at 50 Chainlets,
#: and median seconds for 1,000 Chainlets.
EXAMPLE_SPEEDUP = 5.0
SPEEDUP_AT_50 = 10.0
SECONDS_AT_1000 = 5.0
#: Slope ratio (per-Chainlet cost at 500→1000 vs. 10→100) still "linear".
LINEAR_TOLERANCE = 1.5

sys.path.insert(0, str(BENCH_DIR))
from bench_check import CHILD_ENV, chainsc_path, load_average, machine_info, slope_ms  # noqa: E402
from gen_chain import generate  # noqa: E402


@dataclass(frozen=True, slots=True)
class Run:
    """One child process: wall, user and system CPU seconds, peak RSS in MiB."""

    wall: float
    user: float
    sys: float
    max_rss_mib: float


@dataclass(frozen=True, slots=True)
class Measurement:
    """All measured runs of one command, and how many Chainlets it generated."""

    runs: tuple[Run, ...]
    chainlets: int

    @property
    def best(self) -> float:
        """Fastest wall time."""
        return min(r.wall for r in self.runs)

    @property
    def median(self) -> float:
        """Median wall time."""
        return statistics.median(r.wall for r in self.runs)

    @property
    def cpu(self) -> str:
        """Median user and system CPU seconds (the child and its reaped children)."""
        user = statistics.median(r.user for r in self.runs)
        system = statistics.median(r.sys for r in self.runs)
        return f"{user:.2f} / {system:.2f}"

    @property
    def peak_rss(self) -> float:
        """Largest peak RSS over the runs, MiB."""
        return max(r.max_rss_mib for r in self.runs)


@dataclass(frozen=True, slots=True)
class Options:
    """Command-line settings."""

    sizes: tuple[int, ...]
    skip_truss: bool
    truss_limit: float
    long: float
    timeout: float
    repeat_small: int
    repeat_large: int
    chainsc_src: Path | None
    tmp: Path | None
    delete_each_run: bool = False


#: Output directories of finished runs, removed when the benchmark ends (see `run_tool`).
_FINISHED_OUTPUTS: list[Path] = []


class ChildFailedError(Exception):
    """A measured child exited non-zero or timed out."""


# ------------------------------------------------------------------ children


def run_child(
    argv: Sequence[str], env: dict[str, str], timeout: float, cwd: Path = REPO_ROOT
) -> tuple[Run, str]:
    """Run `argv` in a session of its own; (its Run, its output). Raises ChildFailedError."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
        # Kill the whole session (truss's ruff children included) on timeout.
        timer = threading.Timer(timeout, os.killpg, (proc.pid, signal.SIGKILL))
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # Already reaped.
        out.seek(0)
        output = out.read().decode(errors="replace")
    if proc.returncode != 0:
        reason = (
            f"killed after {timeout:.0f} s"
            if wall >= timeout
            else f"exited {proc.returncode}"
        )
        raise ChildFailedError(f"{' '.join(argv)} {reason}:\n{output[-4000:]}")
    # Linux: KiB, the max over the child and the descendants it reaped.
    return Run(
        wall=wall,
        user=usage.ru_utime,
        sys=usage.ru_stime,
        max_rss_mib=usage.ru_maxrss / 1024,
    ), output


@dataclass(frozen=True, slots=True)
class Tool:
    """How to run one generator on a chain into an output directory."""

    name: str
    env: dict[str, str]
    cwd: Path
    #: Where output directories are created (None: the system's temporary directory).
    tmp: Path | None

    def argv(self, chain: Path, out: Path, *, warmup: bool) -> list[str]:
        """The command line (the warm-up variant may add checks)."""
        raise NotImplementedError

    def chainlets(self, out: Path, output: str) -> int:
        """How many Chainlet packages a finished run generated."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Chainsc(Tool):
    """`chainsc build CHAIN -o OUT`."""

    executable: str = ""

    def argv(self, chain: Path, out: Path, *, warmup: bool) -> list[str]:
        """`chainsc build`, the same for warm-up and measured runs."""
        return [self.executable, "build", str(chain), "-o", str(out)]

    def chainlets(self, out: Path, output: str) -> int:
        """Chainlets listed in the manifest."""
        manifest = json.loads((out / "chain.json").read_text(encoding="utf-8"))
        return len(manifest["chainlets"])


@dataclass(frozen=True, slots=True)
class Truss(Tool):
    """`truss_generate.py CHAIN --out OUT` under the truss venv."""

    python: str = ""
    unshare: tuple[str, ...] = ()

    def argv(self, chain: Path, out: Path, *, warmup: bool) -> list[str]:
        """The warm-up forbids network use (and has none, under `unshare -rn`)."""
        command = [self.python, str(TRUSS_GENERATE), str(chain), "--out", str(out)]
        return [*self.unshare, *command, "--forbid-network"] if warmup else command

    def chainlets(self, out: Path, output: str) -> int:
        """The count `truss_generate.py` prints, checked against the directories."""
        printed = next(
            int(line.split()[0])
            for line in output.splitlines()
            if line.endswith(".chains_generated")
        )
        dirs = len(list((out / ".chains_generated").glob("*/chainlet_*")))
        if dirs != printed:
            raise ChildFailedError(
                f"truss reported {printed} Chainlets but wrote {dirs} packages under {out}"
            )
        return printed


def run_tool(
    tool: Tool,
    chain: Path,
    timeout: float,
    *,
    warmup: bool = False,
    delete_now: bool = False,
) -> tuple[Run, int]:
    """One run into a fresh output directory.

    The directory is kept until the benchmark ends (`remove_finished_outputs`) unless
    `delete_now`: on ext4 without a journal (this VM's disk), every new inode is slowed
    by the inodes deleted in the last minute or so, so deleting 20,000 files between
    two runs makes the next run measure the deletion.
    """
    scratch = Path(tempfile.mkdtemp(prefix=f"bench-build-{tool.name}-", dir=tool.tmp))
    out = scratch / "out"
    try:
        run, output = run_child(
            tool.argv(chain, out, warmup=warmup), tool.env, timeout, tool.cwd
        )
        return run, tool.chainlets(out, output)
    finally:
        if delete_now:
            shutil.rmtree(scratch, ignore_errors=True)
        else:
            _FINISHED_OUTPUTS.append(scratch)


def remove_finished_outputs() -> None:
    """Remove every kept output directory."""
    while _FINISHED_OUTPUTS:
        shutil.rmtree(_FINISHED_OUTPUTS.pop(), ignore_errors=True)


def measure(tool: Tool, chain: Path, repeat: int, opts: Options) -> Measurement:
    """A discarded warm-up run, then `repeat` runs; a long warm-up is the only run."""
    first, chainlets = run_tool(
        tool, chain, opts.timeout, warmup=True, delete_now=opts.delete_each_run
    )
    if first.wall > opts.long:
        return Measurement((first,), chainlets)
    runs = tuple(
        run_tool(tool, chain, opts.timeout, delete_now=opts.delete_each_run)[0]
        for _ in range(repeat)
    )
    return Measurement(runs, chainlets)


# ------------------------------------------------------------------ truss venv


def truss_python() -> str:
    """The truss interpreter: env var, CI venv, or a new local venv."""
    configured = os.environ.get("CHAINSC_TRUSS_PYTHON")
    if configured:
        return configured
    candidate = REPO_ROOT / ".ci-truss-venv/bin/python"
    if candidate.exists():
        return str(candidate)
    local = LOCAL_TRUSS_VENV / "bin" / "python"
    if not local.exists():
        base = os.environ.get("TRUSS_BASE_PY", "python3")
        print(
            f"creating {LOCAL_TRUSS_VENV} with truss=={TRUSS_VERSION} ...",
            file=sys.stderr,
        )
        subprocess.run([base, "-m", "venv", str(LOCAL_TRUSS_VENV)], check=True)
        subprocess.run(
            [str(local), "-m", "pip", "install", "--quiet", f"truss=={TRUSS_VERSION}"],
            check=True,
        )
    return str(local)


def unshare_prefix() -> tuple[str, ...]:
    """`unshare -rn` (a user + network namespace: no network) if the kernel allows it."""
    if shutil.which("unshare") is None:
        return ()
    probe = subprocess.run(["unshare", "-rn", "true"], capture_output=True, check=False)
    return ("unshare", "-rn") if probe.returncode == 0 else ()


def command_output(
    argv: Sequence[str], env: dict[str, str] | None = None, cwd: Path = REPO_ROOT
) -> str:
    """Stripped stdout of a short command, or "unknown"."""
    try:
        proc = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            check=True,
            env=env,
            cwd=cwd,
            timeout=120,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return proc.stdout.strip() or "unknown"


# ------------------------------------------------------------------ cold start


def import_times(
    python: str, statement: str, tool: Tool, top: int = 5
) -> list[tuple[str, int, int]]:
    """Top imports of `statement` by cumulative time: (module, self µs, cumulative µs)."""
    proc = subprocess.run(
        [python, "-X", "importtime", "-c", statement],
        capture_output=True,
        text=True,
        check=True,
        cwd=tool.cwd,
        env=tool.env,
        timeout=120,
    )
    rows: list[tuple[str, int, int]] = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "[us]" in line:
            continue
        self_us, cumulative_us, name = line.removeprefix("import time:").split("|", 2)
        rows.append((name.rstrip(), int(self_us), int(cumulative_us)))
    rows.sort(key=lambda row: row[2], reverse=True)
    return rows[:top]


def measure_imports(
    python: str, statement: str, tool: Tool, repeat: int = 5
) -> Measurement:
    """A child that only runs `statement`: warm-up, then `repeat` runs."""
    argv = [python, "-c", statement]
    run_child(argv, tool.env, 120, tool.cwd)
    return Measurement(
        tuple(run_child(argv, tool.env, 120, tool.cwd)[0] for _ in range(repeat)), 0
    )


# ------------------------------------------------------------------ report


@dataclass(frozen=True, slots=True)
class Row:
    """One chain measured by both tools (truss may be missing)."""

    label: str
    chainlets: int
    lines: int
    chainsc: Measurement
    truss: Measurement | None
    note: str = ""

    @property
    def speedup(self) -> float | None:
        """truss median / chainsc median."""
        return self.truss.median / self.chainsc.median if self.truss else None


@dataclass(frozen=True, slots=True)
class ColdStart:
    """Import-only children and importtime summaries of both tools."""

    chainsc_statement: str
    chainsc: Measurement
    chainsc_top: list[tuple[str, int, int]]
    truss_statement: str
    truss: Measurement | None
    truss_top: list[tuple[str, int, int]]


def _seconds(m: Measurement | None) -> str:
    return f"{m.best:.2f} | {m.median:.2f}" if m else "- | -"


def _speedup(row: Row) -> str:
    return f"{row.speedup:.1f}x" if row.speedup is not None else "-"


def _runs(m: Measurement | None) -> str:
    return str(len(m.runs)) if m else "-"


def example_table(rows: Sequence[Row]) -> list[str]:
    """Markdown: one line per example."""
    lines = [
        "| Example | Chainlets | Lines | chainsc best (s) | chainsc median (s) | truss best (s) | truss median (s) | Speedup (median) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| `{row.label}` | {row.chainlets} | {row.lines:,} | {_seconds(row.chainsc)} | {_seconds(row.truss)} | {_speedup(row)} |"
        )
    return lines


def generated_table(rows: Sequence[Row]) -> list[str]:
    """Markdown: one line per generated size."""
    lines = [
        "| Chainlets | Lines | Runs chainsc / truss | chainsc best (s) | chainsc median (s) | chainsc CPU user / sys (s) | chainsc RSS (MiB) "
        "| truss best (s) | truss median (s) | truss CPU user / sys (s) | truss RSS (MiB) | Speedup (median) |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        c, t = row.chainsc, row.truss
        truss_cells = (
            f"{_seconds(t)} | {t.cpu} | {t.peak_rss:.0f}"
            if t
            else f"{row.note or '-'} | - | - | -"
        )
        lines.append(
            f"| {row.chainlets:,} | {row.lines:,} | {_runs(c)} / {_runs(t)} | {_seconds(c)} | {c.cpu} | {c.peak_rss:.0f} "
            f"| {truss_cells} | {_speedup(row)} |"
        )
    return lines


def slopes(points: Sequence[tuple[int, float]]) -> list[tuple[int, int, float]]:
    """Marginal ms per Chainlet between consecutive sizes from 10 up."""
    ordered = sorted(p for p in points if p[0] >= 10)
    return [(a[0], b[0], slope_ms(a, b)) for a, b in itertools.pairwise(ordered)]


def linearity(rows: Sequence[Row]) -> list[str]:
    """Lines on per-Chainlet cost growth, both tools."""
    lines: list[str] = []
    for tool in ("chainsc", "truss"):
        points = [
            (row.chainlets, m.median)
            for row in rows
            if (m := row.chainsc if tool == "chainsc" else row.truss) is not None
        ]
        found = slopes(points)
        if found:
            detail = ", ".join(f"{a}→{b}: {s:.1f}" for a, b, s in found)
            lines.append(f"- {tool}: marginal ms per Chainlet (median wall) {detail}")
    return lines


def targets(examples: Sequence[Row], generated: Sequence[Row]) -> list[str]:
    """Met / missed lines for the issue's targets."""

    def verdict(ok: bool) -> str:
        return "met" if ok else "**MISSED**"

    lines: list[str] = []
    speedups = [(row.label, row.speedup) for row in examples if row.speedup is not None]
    if speedups:
        worst = min(speedups, key=lambda item: item[1])
        lines.append(
            f"- ≥ {EXAMPLE_SPEEDUP:.0f}x faster than truss on every example (median): "
            f"lowest {worst[1]:.1f}x (`{worst[0]}`), {verdict(worst[1] >= EXAMPLE_SPEEDUP)}"
        )
    by_n = {row.chainlets: row for row in generated}
    at_50 = by_n.get(50)
    if at_50 is not None and at_50.speedup is not None:
        lines.append(
            f"- ≥ {SPEEDUP_AT_50:.0f}x faster than truss at 50 Chainlets (median): "
            f"{at_50.speedup:.1f}x, {verdict(at_50.speedup >= SPEEDUP_AT_50)}"
        )
    at_1000 = by_n.get(1000)
    if at_1000 is not None:
        m = at_1000.chainsc
        lines.append(
            f"- 1,000 Chainlets < {SECONDS_AT_1000:.0f} s (median, cold start included): "
            f"{m.median:.2f} s (best {m.best:.2f} s), {verdict(m.median < SECONDS_AT_1000)}"
        )
    medians = {row.chainlets: row.chainsc.median for row in generated}
    if all(n in medians for n in (10, 100, 500, 1000)):
        first = slope_ms((10, medians[10]), (100, medians[100]))
        last = slope_ms((500, medians[500]), (1000, medians[1000]))
        ratio = last / first if first > 0 else float("inf")
        lines.append(
            f"- linear growth: ms per Chainlet 10→100 {first:.1f}, 500→1000 {last:.1f}; "
            f"ratio {ratio:.2f} (≤ {LINEAR_TOLERANCE} counts as linear), {verdict(ratio <= LINEAR_TOLERANCE)}"
        )
    return lines


def import_table(title: str, rows: Sequence[tuple[str, int, int]]) -> list[str]:
    """Markdown: the top imports of one statement."""
    lines = [
        "",
        title,
        "",
        "| Module | Self (ms) | Cumulative (ms) |",
        "|---|---:|---:|",
    ]
    lines += [
        f"| `{name.strip()}` | {s / 1000:.1f} | {c / 1000:.1f} |" for name, s, c in rows
    ]
    return lines


def report(
    machine: Sequence[tuple[str, str]],
    examples: Sequence[Row],
    generated: Sequence[Row],
    cold: ColdStart,
) -> str:
    """The markdown report."""
    lines = [
        "## `chainsc build` vs truss's generator",
        "",
        "| Machine | |",
        "|---|---|",
    ]
    lines += [f"| {key} | {value} |" for key, value in machine]
    lines += ["", "### Examples", "", *example_table(examples)]
    lines += [
        "",
        "### Generated chains (`gen_chain.py --truss-compatible`)",
        "",
        *generated_table(generated),
    ]
    lines += ["", "Growth:", "", *linearity(generated)]
    lines += ["", "### Targets", "", *targets(examples, generated)]
    lines += [
        "",
        "### Cold start (a child that only imports the build path)",
        "",
        "| Tool | Statement | Runs | Best (s) | Median (s) | Peak RSS (MiB) |",
        "|---|---|---:|---:|---:|---:|",
        f"| chainsc | `{cold.chainsc_statement}` | {len(cold.chainsc.runs)} | {_seconds(cold.chainsc)} | {cold.chainsc.peak_rss:.0f} |",
    ]
    if cold.truss is not None:
        lines.append(
            f"| truss | `{cold.truss_statement}` | {len(cold.truss.runs)} | {_seconds(cold.truss)} | {cold.truss.peak_rss:.0f} |"
        )
    lines += import_table(
        f'chainsc: `python -X importtime -c "{cold.chainsc_statement}"`, top 5 by cumulative time:',
        cold.chainsc_top,
    )
    if cold.truss_top:
        lines += import_table(
            f'truss: `python -X importtime -c "{cold.truss_statement}"`, top 5 by cumulative time:',
            cold.truss_top,
        )
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ main


def parse_args(argv: Sequence[str]) -> Options:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description="Benchmark chainsc build against truss's chain code generator."
    )
    parser.add_argument(
        "--sizes",
        default=",".join(map(str, SIZES)),
        help="generated chain sizes (comma-separated)",
    )
    parser.add_argument(
        "--skip-truss", action="store_true", help="measure chainsc only"
    )
    parser.add_argument(
        "--truss-limit",
        type=float,
        default=60.0,
        help="largest projected seconds per truss run above 100 Chainlets",
    )
    parser.add_argument(
        "--long",
        type=float,
        default=30.0,
        help="a warm-up longer than this (s) is the only run",
    )
    parser.add_argument(
        "--timeout", type=float, default=1200.0, help="seconds before a run is killed"
    )
    parser.add_argument(
        "--repeat-small", type=int, default=5, help="runs up to 100 Chainlets"
    )
    parser.add_argument(
        "--repeat-large", type=int, default=3, help="runs above 100 Chainlets"
    )
    parser.add_argument(
        "--chainsc-src",
        type=Path,
        help="measure the chainsc sources in this checkout (PYTHONPATH)",
    )
    parser.add_argument(
        "--tmp",
        type=Path,
        help="create output directories here (default: the system temp dir)",
    )
    parser.add_argument(
        "--delete-each-run",
        action="store_true",
        help="remove each run's output right after it (default: all at the end; see run_tool)",
    )
    args = parser.parse_args(argv)
    return Options(
        sizes=tuple(
            sorted({int(part) for part in args.sizes.split(",") if part.strip()})
        ),
        skip_truss=args.skip_truss,
        truss_limit=args.truss_limit,
        long=args.long,
        timeout=args.timeout,
        repeat_small=args.repeat_small,
        repeat_large=args.repeat_large,
        chainsc_src=args.chainsc_src.resolve() if args.chainsc_src else None,
        tmp=args.tmp.resolve() if args.tmp else None,
        delete_each_run=args.delete_each_run,
    )


def revision(checkout: Path) -> str:
    """The commit of `checkout`, flagging uncommitted changes to its compiler."""

    def git(*args: str) -> str:
        proc = subprocess.run(
            ["git", "-C", str(checkout), *args],
            capture_output=True,
            text=True,
            check=False,
        )
        return proc.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git(
        "status", "--porcelain", "--", "compiler", "codegen_templates", "runtime_lib"
    )
    return f"{commit} + uncommitted changes" if dirty else commit


def filesystem(path: Path) -> str:
    """`path (fstype)`: the type of the filesystem `path` is on, from /proc/mounts."""
    best, kind = "", "unknown"
    mounts = Path("/proc/mounts")
    for line in mounts.read_text().splitlines() if mounts.exists() else []:
        fields = line.split()
        if (
            len(fields) >= 3
            and (str(path) + "/").startswith(fields[1].rstrip("/") + "/")
            and len(fields[1]) > len(best)
        ):
            best, kind = fields[1], fields[2]
    return f"{path} ({kind})"


def chainsc_setup(src: Path | None, tmp: Path | None) -> tuple[Chainsc, str]:
    """The chainsc tool (run from `src`, or this checkout) and a description of it."""
    env = dict(CHILD_ENV)
    checkout = REPO_ROOT
    if src is not None:
        env["PYTHONPATH"] = str(src)
        checkout = src
    executable = str(chainsc_path())
    # `-P`: no script directory or cwd first on sys.path, as for the console script.
    where = command_output(
        [sys.executable, "-P", "-c", "import chainsc; print(chainsc.__file__)"],
        env,
        checkout,
    )
    if not where.startswith(str(checkout)):
        raise SystemExit(
            f"bench_build: children import chainsc from {where}, not from {checkout}"
        )
    version = command_output([executable, "--version"], env, checkout).split()[-1]
    return Chainsc(
        "chainsc", env, checkout, tmp, executable=executable
    ), f"{version} ({revision(checkout)}, {checkout})"


def projected(done: Sequence[Row], n: int) -> float | None:
    """Linear projection of truss's median at `n` from the last two sizes measured."""
    points = [
        (row.chainlets, row.truss.median) for row in done if row.truss is not None
    ]
    if len(points) < 2:
        return None
    (n0, t0), (n1, t1) = points[-2:]
    return t1 + (t1 - t0) / (n1 - n0) * (n - n1)


def compare(
    label: str,
    chain: Path,
    lines: int,
    tools: tuple[Tool, Tool | None],
    *,
    repeat: int,
    opts: Options,
    note: str = "",
) -> Row:
    """Measure both tools on one chain; they must generate the same Chainlets."""
    chainsc, truss = tools
    c = measure(chainsc, chain, repeat, opts)
    t = measure(truss, chain, repeat, opts) if truss is not None else None
    if t is not None and t.chainlets != c.chainlets:
        note = f"chainsc {c.chainlets} / truss {t.chainlets} Chainlets"
    tail = f", truss median {t.median:.2f} s" if t else ""
    print(f"{label}: chainsc median {c.median:.2f} s{tail}", file=sys.stderr)
    return Row(label, c.chainlets, lines, c, t, note)


def main(argv: Sequence[str]) -> int:
    """Generate, measure, print and write the report."""
    try:
        return _main(argv)
    finally:
        remove_finished_outputs()


def _main(argv: Sequence[str]) -> int:
    opts = parse_args(argv)
    load_before = load_average()
    bin_dir = str(Path(sys.executable).parent)
    chainsc, chainsc_description = chainsc_setup(opts.chainsc_src, opts.tmp)
    truss: Truss | None = None
    machine = [
        (key, chainsc_description if key == "chainsc" else value)
        for key, value in machine_info()
    ]
    machine.append(
        (
            "output directories on",
            filesystem(opts.tmp or Path(tempfile.gettempdir()).resolve()),
        )
    )
    machine.append(
        (
            "outputs removed",
            "after each run" if opts.delete_each_run else "when the benchmark ends",
        )
    )
    if not opts.skip_truss:
        python = truss_python()
        # truss's generator runs `ruff`: chainsc's venv (ruff pinned there) first on PATH.
        env = {
            **CHILD_ENV,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        unshare = unshare_prefix()
        truss = Truss("truss", env, REPO_ROOT, opts.tmp, python=python, unshare=unshare)
        versions = command_output(
            [
                python,
                "-c",
                "import importlib.metadata as m, platform; print(m.version('truss'), platform.python_version())",
            ]
        )
        truss_version, _, truss_py = versions.partition(" ")
        machine += [
            (
                "truss",
                f"{truss_version} (its own venv, CPython {truss_py or '?'}: {python})",
            ),
            (
                "ruff on truss's PATH",
                f"{command_output([str(Path(bin_dir) / 'ruff'), '--version'])} ({bin_dir})",
            ),
            (
                "network check (truss warm-ups)",
                "audit hook exits on any DNS lookup / socket connect"
                + (" + `unshare -rn`" if unshare else ""),
            ),
        ]

    examples: list[Row] = []
    for chain in sorted(REPO_ROOT.glob("examples/*/chain.py")):
        label = str(chain.relative_to(REPO_ROOT))
        lines = sum(
            path.read_text(encoding="utf-8").count("\n")
            for path in chain.parent.rglob("*.py")
        )
        examples.append(
            compare(
                label,
                chain,
                lines,
                (chainsc, truss),
                repeat=opts.repeat_small,
                opts=opts,
            )
        )

    generated: list[Row] = []
    for n in opts.sizes:
        chain = BUILD_CHAINS_DIR / f"chain_{n}" / "chain.py"
        chain.parent.mkdir(parents=True, exist_ok=True)
        source = generate(n, truss_compatible=True)
        chain.write_text(source, encoding="utf-8")
        run_truss = truss
        note = ""
        if truss is not None and n not in TRUSS_REQUIRED:
            guess = projected(generated, n)
            if guess is None or guess >= opts.truss_limit:
                run_truss = None
                note = (
                    f"skipped (projected {guess:.0f} s)"
                    if guess is not None
                    else "skipped"
                )
        repeat = opts.repeat_small if n <= 100 else opts.repeat_large
        generated.append(
            compare(
                f"{n} Chainlets",
                chain,
                source.count("\n"),
                (chainsc, run_truss),
                repeat=repeat,
                opts=opts,
                note=note,
            )
        )

    chainsc_statement = "import chainsc.api; import chainsc.emit.plan"
    truss_statement = (
        "import truss_chains; from truss_chains.deployment import deployment_client"
    )
    cold = ColdStart(
        chainsc_statement=chainsc_statement,
        chainsc=measure_imports(sys.executable, chainsc_statement, chainsc),
        chainsc_top=import_times(sys.executable, chainsc_statement, chainsc),
        truss_statement=truss_statement,
        truss=measure_imports(truss.python, truss_statement, truss) if truss else None,
        truss_top=import_times(truss.python, truss_statement, truss) if truss else [],
    )
    machine.append(
        ("load average (1 min) before / after", f"{load_before} / {load_average()}")
    )
    text = report(machine, examples, generated, cold)
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main(sys.argv[1:]))
    except ChildFailedError as error:
        raise SystemExit(f"bench_build: {error}") from None
