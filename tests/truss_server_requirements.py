"""Print what a venv with truss needs to run Truss's model server on a built package.

Run with the truss venv's Python (`make truss-venv` does, then installs the output):

    .ci-truss-venv/bin/python tests/truss_server_requirements.py > reqs.txt
    .ci-truss-venv/bin/python -m pip install -r reqs.txt

That is what Baseten's image installs: Truss's server requirements bounded by its
constraints (both files ship inside the truss package; the index the requirements
file names is left to pip's configuration), then the package's own
requirements, here the runtime's `REQUIREMENTS` (read without importing `runtime_lib`,
which needs some of them).
"""

from __future__ import annotations

import ast
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent


def runtime_requirements() -> list[str]:
    """`chainsc_runtime.REQUIREMENTS`, a plain literal, read from its source."""
    tree = ast.parse((REPO / "runtime_lib" / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == "REQUIREMENTS"
        ):
            assert node.value is not None
            return list(ast.literal_eval(node.value))
    raise LookupError("runtime_lib/__init__.py defines no REQUIREMENTS")


def server_requirements(path: pathlib.Path) -> list[str]:
    """The requirement lines of Truss's server requirements file.

    Its `-i https://pypi.org/simple` line is left out: pip's own configuration (a
    mirror, `PIP_INDEX_URL`) decides where packages come from.
    """
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith(("#", "-i", "--index-url")):
            lines.append(line)
    return lines


def main() -> int:
    import truss  # type: ignore[import-not-found]  # noqa: PLC0415 - only in the truss venv

    server = pathlib.Path(truss.__file__).parent / "templates" / "server"
    lines = [
        *server_requirements(server / "requirements.txt"),
        f"-c {server / 'constraints.txt'}",
        *runtime_requirements(),
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
