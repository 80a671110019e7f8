"""The long fuzzing run: mutants of the bundled chains, checked and built in-process.

Usage: ``.venv/bin/python bench/fuzz.py --mutants 10000 --seed 1 [--start 0] [--cli-every 10]``

Each mutant is made from its number and the seed (`tests/fuzz.py`), so any finding can
be made again with ``--start INDEX --mutants 1``. Prints one block per finding (what
happened, the mutations applied and, with ``--minimize``, the smallest input that still
fails), then a summary line: mutants, built without errors, findings, seconds. Exit 1
when anything was found.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import fuzz


def main() -> int:
    """Run the fuzzer; 1 when something was found."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mutants", type=int, default=10_000, help="how many mutants")
    parser.add_argument("--seed", type=int, default=1, help="the run's seed")
    parser.add_argument(
        "--start", type=int, default=0, help="number of the first mutant"
    )
    parser.add_argument(
        "--cli-every",
        type=int,
        default=10,
        help="every Nth mutant is also built through `chainsc build` in-process (0: never)",
    )
    parser.add_argument(
        "--minimize",
        action="store_true",
        help="minimise the input of each finding (slow)",
    )
    parser.add_argument(
        "--batch", type=int, default=500, help="progress line every N mutants"
    )
    args = parser.parse_args()

    total = fuzz.RunResult()
    for start in range(args.start, args.start + args.mutants, args.batch):
        count = min(args.batch, args.start + args.mutants - start)
        part = fuzz.run(args.seed, count, start=start, cli_every=args.cli_every)
        total.mutants += part.mutants
        total.built += part.built
        total.seconds += part.seconds
        total.findings.extend(part.findings)
        print(
            f"  {start + count - args.start}/{args.mutants} mutants, {len(total.findings)} findings, {total.seconds:.0f} s",
            flush=True,
        )
    seeds = fuzz.load_seeds()
    for finding in total.findings:
        print(f"\n== mutant {finding.index} (seed {args.seed}): {finding.kind}")
        print(f"   mutations: {', '.join(finding.mutations)}")
        print("   " + finding.detail.strip().replace("\n", "\n   "))
        if args.minimize:
            mutant = fuzz.make_mutant(seeds, args.seed, finding.index)

            def still_fails(
                files: fuzz.Files,
                kind: str = finding.kind,
                mutant: fuzz.Mutant = mutant,
            ) -> bool:
                trial = fuzz.Mutant(
                    mutant.index, mutant.seed, files, mutant.chain, mutant.mutations
                )
                with tempfile.TemporaryDirectory() as directory:
                    findings, _built = fuzz.check_mutant(
                        trial, Path(directory), through_cli=kind in fuzz.CLI_KINDS
                    )
                    return any(f.kind == kind for f in findings)

            for name, content in sorted(fuzz.minimize(mutant, still_fails).items()):
                if name.endswith(".py"):
                    print(
                        f"   --- {name}\n"
                        + (content if isinstance(content, str) else repr(content))
                    )
    print(
        f"\nseed {args.seed}: {total.mutants} mutants ({total.built} built without errors), "
        f"{len(total.findings)} findings, {total.seconds:.1f} s"
    )
    return 1 if total.findings else 0


if __name__ == "__main__":
    raise SystemExit(main())
