"""By-hand benchmark of the no-op `chainsc build --check` and `chainsc build` (`chainsc.fastcheck`).

Usage: ``.venv/bin/python bench/bench_fastcheck.py [--sizes 1,1000] [--repeat 10] [--tmp DIR]``

For each size N, a chain of N Chainlets (``gen_chain.py``, in a directory of its own)
is built once, cold (into an empty output directory; this writes the stamp); then,
with nothing changed, ``chainsc build --check CHAIN -o OUT`` and ``chainsc build CHAIN
-o OUT`` each run ``--repeat`` times, and once more with ``CHAINSC_NO_FASTCHECK=1``
(the slow path: a full build compared with the disk). Every run is the real console
script in a child process, cold start included; the children's stamps go to a cache
directory of their own. Each no-op run must print "up to date" and load neither libcst
nor jinja2 (checked once with ``-X importtime``). Written to ``bench/results/fastcheck.md``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench_check import CHILD_ENV, chainsc_path, load_average, machine_info

REPO_ROOT = Path(__file__).resolve().parent.parent
GENERATED = REPO_ROOT / "bench" / "generated" / "fastcheck"
RESULTS = REPO_ROOT / "bench" / "results" / "fastcheck.md"


def run(argv: Sequence[str], env: dict[str, str], expect: str) -> float:
    """Wall seconds of one child; it must exit 0 and print `expect`."""
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0 or expect not in done.stderr:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr}")
    return wall


def heavy_imports(argv: Sequence[str], env: dict[str, str]) -> list[str]:
    """The heavy modules (libcst, jinja2, black, yaml) a run of `argv` imports."""
    code = "import sys; from chainsc.cli import console_main; sys.argv = ['chainsc', *sys.argv[1:]]; console_main()"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code, *argv[1:]],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    names = {
        line.rpartition("|")[2].strip().split(".")[0]
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }
    return sorted(names & {"libcst", "jinja2", "black", "yaml"})


def row(label: str, times: Sequence[float]) -> str:
    return (
        f"| {label} | {len(times)} | {min(times) * 1000:.0f} | "
        f"{statistics.median(times) * 1000:.0f} |"
    )


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,1000")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument(
        "--tmp", type=Path, default=None, help="where the outputs go (default: /tmp)"
    )
    opts = parser.parse_args(argv)
    chainsc = str(chainsc_path())
    work = Path(tempfile.mkdtemp(prefix="chainsc-fastcheck-", dir=opts.tmp))
    env = {**CHILD_ENV, "CHAINSC_CACHE_DIR": str(work / "cache")}
    env.pop("CHAINSC_NO_FASTCHECK", None)
    slow_env = {**env, "CHAINSC_NO_FASTCHECK": "1"}
    lines = [
        "# `chainsc build --check` and `chainsc build` with nothing changed",
        "",
        "| Machine | |",
        "|---|---|",
        *(f"| {key} | {value} |" for key, value in machine_info()),
        f"| load average (1 min) before | {load_average()} |",
        "",
        "| Command | Runs | Best (ms) | Median (ms) |",
        "|---|---:|---:|---:|",
    ]
    verdicts: list[str] = []
    # What no command can go under: the interpreter alone, and click's cold start.
    python = [run([sys.executable, "-c", "pass"], env, "") for _ in range(opts.repeat)]
    version = [run([chainsc, "--version"], env, "") for _ in range(opts.repeat)]
    lines += [row("`python -c pass`", python), row("`chainsc --version`", version)]
    try:
        for size in (int(s) for s in opts.sizes.split(",")):
            chain = GENERATED / f"chain_{size}" / "chain.py"
            if not chain.is_file():
                subprocess.run(
                    [
                        sys.executable,
                        str(REPO_ROOT / "bench" / "gen_chain.py"),
                        str(size),
                        str(chain),
                    ],
                    check=True,
                    capture_output=True,
                )
            out = work / f"out_{size}"
            build = [chainsc, "build", str(chain), "-o", str(out)]
            check = [chainsc, "build", "--check", str(chain), "-o", str(out)]
            cold = run(build, env, "written")
            noop_check = [run(check, env, "up to date") for _ in range(opts.repeat)]
            noop_build = [run(build, env, "(up to date)") for _ in range(opts.repeat)]
            slow_check = run(check, slow_env, "up to date")
            heavy = heavy_imports(check, env) + heavy_imports(build, env)
            if heavy:
                raise SystemExit(f"a no-op run imported {heavy}")
            lines += [
                f"| cold `chainsc build`, {size} Chainlets | 1 | {cold * 1000:.0f} | {cold * 1000:.0f} |",
                row(f"no-op `chainsc build --check`, {size} Chainlets", noop_check),
                row(f"no-op `chainsc build`, {size} Chainlets", noop_build),
                f"| `--check` without the stamp (`CHAINSC_NO_FASTCHECK=1`), {size} Chainlets | 1 | {slow_check * 1000:.0f} | {slow_check * 1000:.0f} |",
            ]
            median = statistics.median(noop_check)
            verdicts.append(
                f"- {size} Chainlets: no-op check median {median * 1000:.0f} ms "
                f"({'under' if median < 0.060 else 'over'} 60 ms), "
                f"{median / cold:.1%} of the cold build "
                f"({'at most' if median <= cold / 4 else 'more than'} a quarter)"
            )
            shutil.rmtree(out, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    lines += ["", f"Load average (1 min) after: {load_average()}", "", *verdicts, ""]
    text = "\n".join(lines)
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
