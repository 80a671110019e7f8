"""By-hand benchmark of `chainsc check` on generated chains (not a test).

Usage: ``.venv/bin/python bench/bench_check.py``

For each size N it generates ``bench/generated/chain_N.py`` with
``gen_chain.py`` and runs the real console script as a child process, cold
start included. Per run it records the wall time and the child's peak RSS
(``ru_maxrss`` from ``os.wait4``). It also times ``chainsc --version`` (the
cold start alone) and summarizes ``python -X importtime``. The markdown
report is printed and written to ``bench/results/check.md``.
"""

from __future__ import annotations

import itertools
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
GENERATED_DIR = BENCH_DIR / "generated"
RESULTS_FILE = BENCH_DIR / "results" / "check.md"

SIZES = (1, 10, 100, 500, 1000)
#: Targets in seconds (median wall time, cold start included).
TARGETS = {100: 0.5, 1000: 3.0}
#: Slope ratio (per-Chainlet cost at the largest vs. a mid size) still "linear".
LINEAR_TOLERANCE = 1.5

sys.path.insert(0, str(BENCH_DIR))
from gen_chain import generate  # noqa: E402


@dataclass(frozen=True, slots=True)
class Run:
    """One child process: wall time in seconds and peak RSS in MiB."""

    wall: float
    max_rss_mib: float


@dataclass(frozen=True, slots=True)
class Measurement:
    """All runs of one command."""

    label: str
    runs: tuple[Run, ...]

    @property
    def best(self) -> float:
        """Fastest wall time."""
        return min(r.wall for r in self.runs)

    @property
    def median(self) -> float:
        """Median wall time."""
        return statistics.median(r.wall for r in self.runs)

    @property
    def peak_rss(self) -> float:
        """Largest peak RSS over the runs, MiB."""
        return max(r.max_rss_mib for r in self.runs)


def chainsc_path() -> Path:
    """The `chainsc` console script next to the running interpreter."""
    candidate = Path(sys.executable).parent / "chainsc"
    if not candidate.exists():
        raise SystemExit(f"no chainsc at {candidate}; run with .venv/bin/python")
    return candidate


#: Children keep compiled bytecode like an installed tool does: with
#: PYTHONDONTWRITEBYTECODE set (as on some CI images) every run would recompile
#: chainsc's own modules, ~30 ms that no installed copy pays.
CHILD_ENV = {
    key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"
}


def run_once(argv: list[str]) -> Run:
    """Run `argv` as a child; fail unless it exits 0 with no output."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, cwd=REPO_ROOT, env=CHILD_ENV
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # Already reaped.
        out.seek(0)
        output = out.read().decode(errors="replace")
    if proc.returncode != 0 or (output and "--version" not in argv):
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}:\n{output}")
    return Run(wall=wall, max_rss_mib=usage.ru_maxrss / 1024)  # Linux: KiB.


def measure(label: str, argv: list[str], repeat: int) -> Measurement:
    """One discarded warm-up run, then `repeat` measured runs."""
    run_once(argv)
    return Measurement(label, tuple(run_once(argv) for _ in range(repeat)))


def import_times(module: str, top: int = 5) -> list[tuple[str, int, int]]:
    """Top imports of `module` by cumulative time: (module, self µs, cumulative µs)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
    )
    rows: list[tuple[str, int, int]] = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "[us]" in line:
            continue
        self_us, cumulative_us, name = line.removeprefix("import time:").split("|", 2)
        rows.append((name.rstrip(), int(self_us), int(cumulative_us)))
    rows.sort(key=lambda row: row[2], reverse=True)
    return rows[:top]


def source_revision() -> str:
    """The commit measured, flagging uncommitted changes to the compiler."""

    def git(*args: str) -> str:
        proc = subprocess.run(
            ["git", *args], capture_output=True, text=True, cwd=REPO_ROOT, check=False
        )
        return proc.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "compiler")
    return f"{commit} + uncommitted changes in compiler/" if dirty else commit


def load_average() -> str:
    """The 1-minute load average, to spot other work competing for the CPUs."""
    return f"{os.getloadavg()[0]:.2f}"


def machine_info() -> list[tuple[str, str]]:
    """Facts about the machine and software the numbers were taken on."""
    cpu_model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    usable = (
        len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count()
    )
    return [
        ("CPU", cpu_model),
        ("nproc (usable / online)", f"{usable} / {os.cpu_count()}"),
        ("OS", f"{platform.system()} {platform.release()} {platform.machine()}"),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("chainsc", f"{metadata.version('chainsc')} ({source_revision()})"),
        ("libcst", metadata.version("libcst")),
        ("PYTHONDONTWRITEBYTECODE (children)", "unset: bytecode cached, as installed"),
        ("date", time.strftime("%Y-%m-%d")),
    ]


def slope_ms(a: tuple[int, float], b: tuple[int, float]) -> float:
    """Marginal milliseconds per Chainlet between two (N, seconds) points."""
    return (b[1] - a[1]) / (b[0] - a[0]) * 1000


ImportRows = list[tuple[str, int, int]]


def report(
    cold: Measurement,
    checks: list[tuple[int, int, Measurement]],
    imports: dict[str, ImportRows],
    loads: tuple[str, str],
) -> str:
    """The markdown report."""
    lines = ["## `chainsc check` benchmark", "", "| Machine | |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in machine_info()]
    lines.append(f"| load average (1 min) before / after | {loads[0]} / {loads[1]} |")
    lines += [
        "",
        "| Command | Chainlets | Lines | Runs | Best (s) | Median (s) | Peak RSS (MiB) |",
        "|---|---:|---:|---:|---:|---:|---:|",
        f"| `chainsc --version` (cold start) | - | - | {len(cold.runs)} | {cold.best:.3f} | {cold.median:.3f} | {cold.peak_rss:.1f} |",
    ]
    for n, n_lines, m in checks:
        lines.append(
            f"| `chainsc check chain_{n}.py` | {n} | {n_lines:,} | {len(m.runs)} | {m.best:.3f} | {m.median:.3f} | {m.peak_rss:.1f} |"
        )
    medians = {n: m.median for n, _, m in checks}
    lines += ["", "Targets (median wall time, cold start included):", ""]
    for n, limit in TARGETS.items():
        if n in medians:
            best = next(m.best for k, _, m in checks if k == n)
            verdict = "met" if medians[n] < limit else "**MISSED**"
            lines.append(
                f"- {n} Chainlets < {limit} s: median {medians[n]:.3f} s (best {best:.3f} s), {verdict}"
            )
    points = sorted(medians.items())
    slopes = [
        (a[0], b[0], slope_ms(a, b))
        for a, b in itertools.pairwise(points)
        if a[0] >= 10
    ]
    if len(slopes) >= 2:
        ratio = slopes[-1][2] / slopes[0][2] if slopes[0][2] > 0 else float("inf")
        verdict = "linear" if ratio <= LINEAR_TOLERANCE else "**super-linear**"
        detail = ", ".join(f"{a}→{b}: {s:.2f}" for a, b, s in slopes)
        lines.append(
            f"- linear growth: marginal ms per Chainlet {detail}; "
            f"last/first = {ratio:.2f} (≤ {LINEAR_TOLERANCE} counts as linear), {verdict}"
        )
    for module, rows in imports.items():
        lines += [
            "",
            f'`python -X importtime -c "import {module}"`, top 5 by cumulative time:',
            "",
            "| Module | Self (ms) | Cumulative (ms) |",
            "|---|---:|---:|",
        ]
        lines += [
            f"| `{name.strip()}` | {s / 1000:.1f} | {c / 1000:.1f} |"
            for name, s, c in rows
        ]
    return "\n".join(lines) + "\n"


def main() -> int:
    """Generate, measure, print and write the report."""
    chainsc = str(chainsc_path())
    load_before = load_average()
    GENERATED_DIR.mkdir(parents=True, exist_ok=True)
    cold = measure("--version", [chainsc, "--version"], repeat=5)
    checks: list[tuple[int, int, Measurement]] = []
    for n in SIZES:
        path = GENERATED_DIR / f"chain_{n}.py"
        source = generate(n)
        path.write_text(source, encoding="utf-8")
        m = measure(
            f"check {n}", [chainsc, "check", str(path)], repeat=5 if n <= 100 else 3
        )
        checks.append((n, source.count("\n"), m))
        print(f"N={n}: median {m.median:.3f} s", file=sys.stderr)
    # `chainsc.cli` is what `--version` loads; `compiler/__init__` loads the
    # front end (and libcst) lazily, so `chainsc.api` is what `check` adds.
    imports = {
        module: import_times(module) for module in ("chainsc.cli", "chainsc.api")
    }
    text = report(cold, checks, imports, (load_before, load_average()))
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
