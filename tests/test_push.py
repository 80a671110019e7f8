"""`chainsc push`: a built chain pushed to Baseten as one chain, with truss's own upload.

The real `chainsc` of a venv with `chainsc[baseten]` (truss 0.18.36 beside it, `make
baseten-venv`) runs in a subprocess, configured as a user configures truss (`~/.trussrc`
with a remote and an API key). Baseten itself is `tests/fake_baseten.py` on 127.0.0.1:
its GraphQL API and the S3 bucket truss uploads each Truss archive to. Everything truss
sends is read back there: the archives (exactly the files chainsc built, `model_name`
aside), the `deploy_chain_atomic` mutation (the chain name, the entrypoint first, every
Chainlet by display name with its model and archive, publish and environment). Any HTTP
request for anywhere else goes to a closed loopback proxy and fails.

The checks of OUT and of the options run before truss is imported, so those cases run
the development venv's `chainsc` (which has no truss) and are fast.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import CHAINSC, REPO, baseten_chainsc, example_chains, run_cli
from tests.fake_baseten import DEAD_PROXY, REMOTE_NAME, Chainlet, FakeBaseten

pytestmark = pytest.mark.slow

MODEL_NAME = re.compile(r"^(?P<display>.+)-(?P<suffix>[0-9a-f]{8})$")


def build(example: str, out: Path) -> dict[str, object]:
    """Build a bundled example with the real CLI; its manifest."""
    result = run_cli(
        "build", str(REPO / "examples" / example / "chain.py"), "-o", str(out)
    )
    assert result.returncode == 0, result.stderr
    manifest: dict[str, object] = json.loads((out / "chain.json").read_text())
    return manifest


def snapshot(directory: Path) -> dict[str, str]:
    """Every file under `directory` and its hash: to show a push never writes OUT."""
    return {
        p.relative_to(directory).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def clean_environment(**extra: str) -> dict[str, str]:
    """This process's environment without what would point truss or boto3 elsewhere."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "BASETEN_", "USER_TRUSSRC", "CHAINSC_"))
        and key.lower() not in {"http_proxy", "https_proxy", "all_proxy", "no_proxy"}
    }
    env.update(extra)
    return env


def push(
    *args: str, env: dict[str, str], chainsc: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`chainsc push ARGS` with chainsc[baseten]'s script (or `chainsc`), in `env`."""
    return subprocess.run(
        [str(chainsc or baseten_chainsc()), "push", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )


def offline(home: Path) -> dict[str, str]:
    """An environment with no Baseten remote and every proxy closed: nothing can be sent."""
    home.mkdir(parents=True, exist_ok=True)
    return clean_environment(
        HOME=str(home),
        HTTP_PROXY=DEAD_PROXY,
        HTTPS_PROXY=DEAD_PROXY,
        http_proxy=DEAD_PROXY,
        https_proxy=DEAD_PROXY,
    )


def table(stdout: str) -> list[dict[str, str]]:
    """The artifact rows `chainsc push` prints, in order."""
    lines = stdout.splitlines()
    header = next(
        i
        for i, line in enumerate(lines)
        if line.split() == ["display_name", "name", "directory", "model_name"]
    )
    rows = []
    for line in lines[header + 1 :]:
        if not line.startswith("  "):
            break
        display_name, name, directory, model_name = line.split()
        rows.append(
            {
                "display_name": display_name,
                "name": name,
                "directory": directory,
                "model_name": model_name,
            }
        )
    return rows


def facts(stdout: str) -> dict[str, str]:
    """The `key: value` lines `chainsc push` prints before its table."""
    found = {}
    for line in stdout.splitlines():
        if line.startswith("artifacts"):
            break
        key, _, value = line.partition(": ")
        found[key] = value
    return found


def expected_order(manifest: dict[str, object]) -> list[str]:
    """Display names: the entrypoint first, then each Chainlet after those it calls."""
    chainlets = manifest["chainlets"]
    assert isinstance(chainlets, dict)
    order: list[str] = []

    def visit(node: str) -> None:
        if node in order:
            return
        for dependency in sorted(chainlets[node]["dependencies"]):
            visit(dependency)
        order.append(node)

    for node in sorted(chainlets):
        visit(node)
    entrypoint = manifest["entrypoint"]
    assert isinstance(entrypoint, str)
    order.remove(entrypoint)
    return [chainlets[i]["name"] for i in [entrypoint, *order]]


def assert_archive_is_the_package(
    baseten: FakeBaseten,
    chainlet: Chainlet,
    out: Path,
    package: str,
    manifest: dict[str, object],
) -> None:
    """The archive holds exactly what chainsc built for the package, byte for byte, but
    for the model name, plus the `.truss_ignore` that keeps truss from dropping any."""
    archive = baseten.archive(chainlet.s3_key)
    files = manifest["files"]
    assert isinstance(files, list)
    listed = sorted(
        path.removeprefix(f"{package}/")
        for path in files
        if path.startswith(f"{package}/")
    )
    assert sorted(archive) == sorted([*listed, ".truss_ignore"])
    for relative in listed:
        original = (out / package / relative).read_bytes()
        if relative == "config.yaml":
            assert archive[relative] == re.sub(
                rb"(?m)^model_name: .*$",
                b'model_name: "' + chainlet.model_name.encode() + b'"',
                original,
            )
            assert archive[relative] != original
        else:
            assert archive[relative] == original, relative
    patterns = [
        line
        for line in archive[".truss_ignore"].splitlines()
        if line.strip() and not line.startswith(b"#")
    ]
    assert patterns == []


# -- the dry run -----------------------------------------------------------------


@pytest.mark.parametrize("chain", example_chains(), ids=lambda p: p.parent.name)
def test_dryrun_checks_every_package_of_every_example_with_truss(
    chain: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    manifest = build(chain.parent.name, out)
    before = snapshot(out)

    result = push(str(out), "--dryrun", env=offline(tmp_path / "home"))

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.rstrip().endswith("nothing was uploaded")
    stated = facts(result.stdout)
    assert stated["chain"] == manifest["chain"]
    assert stated["publish"] == "yes"
    assert stated["environment"] == "-"
    assert stated["remote"] == "-"
    assert stated["truss"] == "0.18.36"
    chainlets = manifest["chainlets"]
    assert isinstance(chainlets, dict)
    by_name = {
        info["name"]: (chainlet_id, info) for chainlet_id, info in chainlets.items()
    }
    rows = table(result.stdout)
    assert [row["display_name"] for row in rows] == expected_order(manifest)
    assert stated["entrypoint"] == rows[0]["display_name"]
    assert by_name[rows[0]["display_name"]][0] == manifest["entrypoint"]
    for row in rows:
        chainlet_id, info = by_name[row["display_name"]]
        assert row["name"] == chainlet_id.rpartition(".")[2]
        assert row["directory"] == str(out / info["package"])
        named = MODEL_NAME.match(row["model_name"])
        assert named is not None, row
        assert named["display"] == row["display_name"]
    assert snapshot(out) == before


# -- the upload --------------------------------------------------------------------


@pytest.fixture
def baseten() -> Iterator[FakeBaseten]:
    with FakeBaseten() as fake:
        yield fake


def test_push_uploads_the_built_packages_as_one_chain(
    baseten: FakeBaseten, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    manifest = build("text_pipeline", out)
    chainlets = manifest["chainlets"]
    assert isinstance(chainlets, dict)
    # What is not chainsc's in OUT is never uploaded: bytecode `chainsc run` left, a note.
    leftovers = {
        "packages/__pycache__/chain.cpython-311.pyc": b"\x00bytecode",
        "notes.txt": b"not for Baseten\n",
    }
    some_package = out / next(iter(chainlets.values()))["package"]
    for relative, data in leftovers.items():
        (some_package / relative).parent.mkdir(parents=True, exist_ok=True)
        (some_package / relative).write_bytes(data)
    before = snapshot(out)

    result = push(
        str(out), env=clean_environment(**baseten.environment(tmp_path / "home"))
    )

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert baseten.unexpected == []
    assert snapshot(out) == before

    # One chain deployment, named as the chain file names the chain, published.
    (deployment,) = baseten.deployments()
    assert deployment.arguments["chain_name"] == manifest["chain"]
    assert deployment.arguments["is_draft"] == "false"
    assert "environment" not in deployment.arguments
    assert "chain_id" not in deployment.arguments
    # The entrypoint first, every Chainlet by display name, in the order the CLI printed.
    rows = table(result.stdout)
    assert [c.name for c in deployment.chainlets] == expected_order(manifest)
    assert [c.name for c in deployment.chainlets] == [r["display_name"] for r in rows]
    assert [c.model_name for c in deployment.chainlets] == [
        r["model_name"] for r in rows
    ]

    by_name = {info["name"]: info for info in chainlets.values()}
    suffixes = set()
    for chainlet in deployment.chainlets:
        named = MODEL_NAME.match(chainlet.model_name)
        assert named is not None
        assert named["display"] == chainlet.name
        suffixes.add(named["suffix"])
        # The config Baseten was sent is the package's, as truss read it.
        assert chainlet.config["model_name"] == chainlet.model_name
        assert chainlet.config["model_metadata"]["chainsc"]["chainlet"] in chainlets
        assert_archive_is_the_package(
            baseten, chainlet, out, by_name[chainlet.name]["package"], manifest
        )
    assert len(suffixes) == len(deployment.chainlets)  # a new model each

    # Every package was validated (truss's own config check on the backend) before the
    # chain was created, and the push then waited until Baseten said every one is active.
    operations = [c.operation for c in baseten.calls]
    assert operations.count("truss_validation") == len(chainlets)
    assert operations.index("deploy_chain_atomic") > max(
        i for i, op in enumerate(operations) if op == "truss_validation"
    )
    assert operations[-1] == "chain_deployment"
    for chainlet in deployment.chainlets:
        assert f"  {chainlet.name}: BUILDING" in result.stderr
        assert f"  {chainlet.name}: ACTIVE" in result.stderr
    assert "deployed: every Chainlet is active" in result.stdout
    assert (
        "invoke: https://chain-1.api.baseten.fake/deployment/deployment-1/run_remote"
        in result.stdout
    )


@pytest.mark.parametrize(
    ("options", "existing", "expected"),
    [
        pytest.param(
            ["--environment", "staging"],
            True,
            {"chain_id": "chain-7", "environment": "staging", "is_draft": "false"},
            id="environment",
        ),
        pytest.param(
            ["--promote"],
            True,
            {"chain_id": "chain-7", "environment": "production", "is_draft": "false"},
            id="promote-means-production",
        ),
        pytest.param(
            ["--no-publish", "--environment", "staging"],
            True,
            {"chain_id": "chain-7", "environment": "staging", "is_draft": "false"},
            id="environment-implies-publish",
        ),
        pytest.param(
            ["--no-publish"],
            False,
            {"chain_name": "TextPipeline", "is_draft": "true"},
            id="development",
        ),
        pytest.param(
            ["--name", "renamed", "--deployment-name", "v1.2_rc-3"],
            False,
            {
                "chain_name": "renamed",
                "is_draft": "false",
                "deployment_name": "v1.2_rc-3",
            },
            id="name-and-deployment-name",
        ),
    ],
)
def test_push_options_reach_baseten_as_truss_chains_push_sends_them(
    options: list[str],
    existing: bool,
    expected: dict[str, str],
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    manifest = build("text_pipeline", out)
    assert manifest["chain"] == "TextPipeline"
    existing_chains = {"TextPipeline": "chain-7"} if existing else {}
    with FakeBaseten(existing_chains=existing_chains) as baseten:
        env = clean_environment(**baseten.environment(tmp_path / "home"))
        result = push(str(out), "--no-wait", "--remote", REMOTE_NAME, *options, env=env)

    assert result.returncode == 0, result.stderr
    assert baseten.unexpected == []
    (deployment,) = baseten.deployments()
    assert deployment.arguments == expected
    assert deployment.chainlets[0].name == "TextPipeline"
    # --no-wait: no status poll.
    assert "chain_deployment" not in [c.operation for c in baseten.calls]
    assert "pushed:" in result.stdout
    if "--environment" in options or "--promote" in options:
        environment = expected["environment"]
        assert f"environments/{environment}/run_remote" in result.stdout


def test_push_reports_a_failed_deployment(tmp_path: Path) -> None:
    out = tmp_path / "out"
    build("rag", out)
    with FakeBaseten(statuses=["BUILDING", "BUILD_FAILED"]) as baseten:
        result = push(
            str(out), env=clean_environment(**baseten.environment(tmp_path / "home"))
        )
    assert result.returncode == 1
    assert "the deployment failed" in result.stderr
    assert "BUILD_FAILED (logs: " in result.stderr
    assert "Traceback" not in result.stderr


def test_push_says_why_baseten_refused_the_key(tmp_path: Path) -> None:
    out = tmp_path / "out"
    build("rag", out)
    with FakeBaseten() as baseten:
        env = clean_environment(**baseten.environment(tmp_path / "home"))
        trussrc = tmp_path / "home" / ".trussrc"
        trussrc.write_text(trussrc.read_text().replace("fake-baseten-api-key", "wrong"))
        result = push(str(out), env=env)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1].startswith(
        "chainsc: the push failed: HTTPError: 401"
    )
    assert "Traceback" not in result.stderr
    assert baseten.deployments() == []
    assert baseten.uploads == {}


def test_a_package_truss_rejects_is_reported_and_nothing_is_sent(
    tmp_path: Path,
) -> None:
    """As if chainsc wrote a config truss does not accept (chain.json agreeing with it)."""
    out = tmp_path / "out"
    build("rag", out)
    config = out / "embedder" / "config.yaml"
    config.write_text(config.read_text() + "not_a_truss_field: 1\n")
    manifest = json.loads((out / "chain.json").read_text())
    manifest["chainlets"]["chain.Embedder"]["package_sha256"] = tree_hash(
        out, "embedder", manifest["files"]
    )
    (out / "chain.json").write_text(json.dumps(manifest))

    with FakeBaseten() as baseten:
        env = clean_environment(**baseten.environment(tmp_path / "home"))
        result = push(str(out), env=env)
        dryrun = push(str(out), "--dryrun", env=env)
    for run in (result, dryrun):
        assert run.returncode == 1, run.stderr
        assert "truss would not upload this chain" in run.stderr
        assert f"`{out / 'embedder'}` (Embedder): truss rejects it" in run.stderr
        assert "not_a_truss_field" in run.stderr
        assert "Traceback" not in run.stderr
    assert baseten.calls == []
    assert baseten.uploads == {}


def tree_hash(out: Path, package: str, files: list[str]) -> str:
    """`package_sha256` as chainsc computes it (`emit/plan.py`), over the files on disk."""
    digest = hashlib.sha256()
    for path in sorted(p for p in files if p.startswith(f"{package}/")):
        digest.update(
            path.encode() + b"\0" + hashlib.sha256((out / path).read_bytes()).digest()
        )
    return digest.hexdigest()


# -- what is refused before anything is sent ------------------------------------------


def test_a_remote_must_be_configured_or_chosen(tmp_path: Path) -> None:
    out = tmp_path / "out"
    build("rag", out)
    home = tmp_path / "home"
    result = push(str(out), env=offline(home))
    assert result.returncode == 2
    assert "no Baseten remote is configured: run `truss login`" in result.stderr

    with FakeBaseten() as baseten:
        env = clean_environment(**baseten.environment(home))
        with (home / ".trussrc").open("a") as trussrc:
            trussrc.write(
                "\n[other]\nremote_provider = baseten\napi_key = x\nremote_url = http://127.0.0.1:9\n"
            )
        result = push(str(out), env=env)
        assert result.returncode == 2
        assert (
            "several remotes (fake, other): choose one with `--remote NAME`"
            in result.stderr
        )
        assert baseten.calls == []
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ["--no-publish", "--deployment-name", "v1"],
            "cannot be used with `--no-publish`",
        ),
        (["--deployment-name", "v 1"], "may only hold letters, digits"),
        (["--name", 'a"b'], "`--name` holds '\"'"),
        (["--environment", "x\ny"], "`--environment` holds '\\n'"),
    ],
)
def test_options_truss_would_reject_are_usage_errors(
    options: list[str], message: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    build("rag", out)
    result = push(str(out), *options, env=offline(tmp_path / "home"), chainsc=CHAINSC)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def _remove_package(out: Path) -> str:
    shutil.rmtree(out / "embedder")
    return "the package `embedder` of `Embedder` is missing from"


def _change_a_file(out: Path) -> str:
    path = out / "reranker" / "packages" / "chain.py"
    path.write_text(path.read_text() + "\n# edited\n")
    return "`" + str(out / "reranker") + "` differs from what chainsc built"


def _remove_a_file(out: Path) -> str:
    (out / "rag" / "model" / "model.py").unlink()
    return "`model/model.py` is missing or no longer a regular file"


def _link_a_file(out: Path) -> str:
    path = out / "rag" / "requirements.txt"
    (out / "elsewhere.txt").write_bytes(path.read_bytes())
    path.unlink()
    path.symlink_to(out / "elsewhere.txt")
    return "`requirements.txt` is missing or no longer a regular file"


def _no_manifest(out: Path) -> str:
    (out / "chain.json").unlink()
    return "has no chain.json: it is not a chain built by chainsc"


def _foreign_manifest(out: Path) -> str:
    (out / "chain.json").write_text(
        json.dumps({"chain": "x", "entrypoint": "a", "chainlets": {}})
    )
    return "was not written by chainsc"


def _entrypoint_of_a_wrong_type(out: Path) -> str:
    manifest = json.loads((out / "chain.json").read_text())
    manifest["entrypoint"] = ["chain.RAG"]
    (out / "chain.json").write_text(json.dumps(manifest))
    return "was not written by chainsc"


def _dependency_of_a_wrong_type(out: Path) -> str:
    manifest = json.loads((out / "chain.json").read_text())
    manifest["chainlets"]["chain.RAG"]["dependencies"] = [["chain.Embedder"]]
    (out / "chain.json").write_text(json.dumps(manifest))
    return "was not written by chainsc"


def _manifest_escaping_out(out: Path) -> str:
    manifest = json.loads((out / "chain.json").read_text())
    manifest["files"].append("rag/../../etc/passwd")
    (out / "chain.json").write_text(json.dumps(manifest))
    return "was not written by chainsc"


@pytest.mark.parametrize(
    "damage",
    [
        _remove_package,
        _change_a_file,
        _remove_a_file,
        _link_a_file,
        _no_manifest,
        _foreign_manifest,
        _entrypoint_of_a_wrong_type,
        _dependency_of_a_wrong_type,
        _manifest_escaping_out,
    ],
    ids=lambda f: f.__name__.strip("_"),
)
def test_an_out_that_is_not_as_chainsc_built_it_is_refused(
    damage: object, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    build("rag", out)
    assert callable(damage)
    message = damage(out)
    # With truss and without (the development venv's chainsc): the refusal comes first.
    for chainsc in (CHAINSC, baseten_chainsc()):
        result = push(
            str(out), "--dryrun", env=offline(tmp_path / "home"), chainsc=chainsc
        )
        assert result.returncode == 2, result.stderr
        assert message in result.stderr
        assert "Traceback" not in result.stderr


def test_without_truss_push_names_the_extra(tmp_path: Path) -> None:
    probe = subprocess.run(
        [sys.executable, "-c", "import truss"], capture_output=True, check=False
    )
    if probe.returncode == 0:
        pytest.skip("this venv has truss: the missing-extra message cannot show here")
    out = tmp_path / "out"
    build("rag", out)
    result = push(str(out), "--dryrun", env=offline(tmp_path / "home"), chainsc=CHAINSC)
    assert result.returncode == 1
    assert "pip install 'chainsc[baseten]'" in result.stderr
    assert "Traceback" not in result.stderr


def test_chainsc_imports_truss_only_to_push() -> None:
    python = baseten_chainsc().parent / "python"
    probe = subprocess.run(
        [
            str(python),
            "-c",
            "import sys, chainsc.cli, chainsc.api, chainsc.run, chainsc.push; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'truss', 'truss_chains'}))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.strip() == "[]"


#: The options `chainsc push` shares with `truss chains push`.
SHARED_OPTIONS = (
    "name",
    "publish",
    "promote",
    "environment",
    "deployment_name",
    "remote",
    "wait",
    "dryrun",
)

_OPTIONS_OF = """
import json, sys
from chainsc.cli import push
from truss.cli.chains_commands import push_chain

def options(command):
    return {
        p.name: {
            "opts": sorted(p.opts + p.secondary_opts),
            "default": p.default if isinstance(p.default, (bool, str, type(None))) else repr(p.default),
            "is_flag": p.is_flag,
        }
        for p in command.params
        if p.param_type_name == "option"
    }

json.dump({"chainsc": options(push), "truss": options(push_chain)}, sys.stdout)
"""


def test_push_options_have_truss_chains_push_names_and_defaults() -> None:
    python = baseten_chainsc().parent / "python"
    probe = subprocess.run(
        [str(python), "-c", _OPTIONS_OF],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    found = json.loads(probe.stdout.splitlines()[-1])
    for option in SHARED_OPTIONS:
        assert found["chainsc"][option] == found["truss"][option], option
    assert set(found["chainsc"]) == set(SHARED_OPTIONS)
