"""`chainsc build --with docker|kubernetes`: the Dockerfiles and the Kubernetes manifests.

What is checked here, without containers (tests/test_containers.py builds and runs them):
the files are written only when asked and `build --check` covers them; they are
deterministic; every manifest validates against Kubernetes' own OpenAPI schemas
(`kubernetes-validate`, strict: no unknown field), for the examples and for chains of our
own, and so does what `kubectl kustomize` makes of the directory once the README's
commands set a registry; the manifests wire each Chainlet to its dependencies' Services,
refer to secrets without values, and give the pods longer to stop than the server drains.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from chainsc.emit import deploy
from chainsc_runtime import server as runtime_server
from chainsc_runtime import serving as runtime_serving
from tests.conftest import CHAINSC, example_chains, run_cli, skip_or_fail
from tests.deploy_chain import EVERY_FEATURE, THREE_HOPS

#: The oldest Kubernetes release still widely run, and the newest the package knows.
KUBERNETES_VERSIONS = ("1.27.0", kubernetes_validate.latest_version())


def _chain(tmp_path: Path, text: str) -> Path:
    project = tmp_path / "project"
    project.mkdir(parents=True, exist_ok=True)
    chain = project / "chain.py"
    chain.write_text(text, encoding="utf-8")
    return chain


def _build(chain: Path, out: Path, *targets: str) -> None:
    args = [arg for target in targets for arg in ("--with", target)]
    result = run_cli("build", str(chain), "-o", str(out), *args)
    assert result.returncode == 0, result.stderr


def _documents(out: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every manifest document under `deploy/kubernetes/` (not the kustomization)."""
    for path in sorted((out / deploy.KUBERNETES_DIR).glob("*.yaml")):
        if path.name == deploy.KUSTOMIZATION:
            continue
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            yield path.name, document


def _validate(document: dict[str, Any]) -> None:
    for version in KUBERNETES_VERSIONS:
        kubernetes_validate.validate(document, version, strict=True)


def _by_kind(out: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """kind -> name -> document."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for _, document in _documents(out):
        found.setdefault(document["kind"], {})[document["metadata"]["name"]] = document
    return found


# -- written when asked, covered by --check ------------------------------------------


def test_deployment_files_are_written_only_when_asked(tmp_path: Path) -> None:
    chain = _chain(tmp_path, THREE_HOPS)
    plain, docker, kubernetes = (
        tmp_path / "plain",
        tmp_path / "docker",
        tmp_path / "kubernetes",
    )
    _build(chain, plain)
    _build(chain, docker, "docker")
    _build(chain, kubernetes, "kubernetes")  # implies docker

    def files(out: Path) -> set[str]:
        return {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}

    packages = {"entry", "middle", "leaf"}
    dockerfiles = {f"{package}/Dockerfile" for package in packages}
    manifests = {
        f"deploy/kubernetes/{name}"
        for name in (
            "README.md",
            "kustomization.yaml",
            "entry.yaml",
            "middle.yaml",
            "leaf.yaml",
        )
    }
    assert not files(plain) & (dockerfiles | manifests)
    assert files(docker) - files(plain) == dockerfiles
    assert files(kubernetes) - files(plain) == dockerfiles | manifests
    listed = json.loads((kubernetes / "chain.json").read_text())["files"]
    assert dockerfiles | manifests <= set(listed)
    # The packages themselves are the same bytes, with or without a Dockerfile.
    for path in files(plain) - {"chain.json", ".gitattributes"}:
        assert (plain / path).read_bytes() == (kubernetes / path).read_bytes(), path
    assert (
        "/deploy/kubernetes/** linguist-generated=true"
        in (kubernetes / ".gitattributes").read_text()
    )


def test_build_check_covers_the_deployment_files(tmp_path: Path) -> None:
    chain = _chain(tmp_path, THREE_HOPS)
    out = tmp_path / "out"
    _build(chain, out, "kubernetes")
    check = run_cli(
        "build", str(chain), "-o", str(out), "--check", "--with", "kubernetes"
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "up to date" in check.stderr

    # Without --with, the same directory has files a build would not write.
    plain = run_cli("build", str(chain), "-o", str(out), "--check")
    assert plain.returncode == 1
    assert "diff --git a/leaf/Dockerfile b/leaf/Dockerfile" in plain.stdout
    assert "deleted file mode" in plain.stdout
    assert "deploy/kubernetes/leaf.yaml" in plain.stdout

    manifest = out / "deploy/kubernetes/leaf.yaml"
    manifest.write_text(manifest.read_text().replace("'30'", "'5'"))
    (out / "middle" / "Dockerfile").unlink()
    edited = run_cli(
        "build", str(chain), "-o", str(out), "--check", "--with", "kubernetes"
    )
    assert edited.returncode == 1
    assert "-          value: '5'" in edited.stdout
    assert "+          value: '30'" in edited.stdout
    assert "1 changed, 1 missing, 0 extra" in edited.stderr
    assert "--with kubernetes` to update" in edited.stderr

    _build(chain, out, "kubernetes")
    again = run_cli(
        "build", str(chain), "-o", str(out), "--check", "--with", "kubernetes"
    )
    assert again.returncode == 0


def test_with_names_only_known_targets(tmp_path: Path) -> None:
    chain = _chain(tmp_path, THREE_HOPS)
    result = run_cli("build", str(chain), "-o", str(tmp_path / "out"), "--with", "helm")
    assert result.returncode == 2
    assert "'helm' is not one of 'docker', 'kubernetes'" in result.stderr
    assert not (tmp_path / "out").exists()


def test_deployment_files_are_deterministic(tmp_path: Path) -> None:
    """Same bytes from another directory, another hash seed, another working directory."""
    trees = []
    for index, seed in enumerate(("1", "12345")):
        chain = _chain(tmp_path / f"copy{index}", EVERY_FEATURE)
        out = tmp_path / f"out{index}"
        subprocess.run(
            [str(CHAINSC), "build", str(chain), "-o", str(out), "--with", "kubernetes"],
            check=True,
            capture_output=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            cwd=tmp_path if index else chain.parent,
        )
        trees.append(
            {
                p.relative_to(out).as_posix(): p.read_bytes()
                for p in out.rglob("*")
                if p.is_file() and ("Dockerfile" in p.name or "deploy" in p.parts)
            }
        )
    assert trees[0] == trees[1]
    assert len(trees[0]) == 3 + 5  # Dockerfiles; README, kustomization, 3 manifests
    for content in trees[0].values():
        assert str(tmp_path).encode() not in content


# -- Kubernetes' own schema ------------------------------------------------------------


_CHAINS = {
    **{path.parent.name: path for path in example_chains()},
}


@pytest.mark.parametrize(
    "name", [*sorted(_CHAINS), "every_feature", "three_hops"], ids=str
)
def test_manifests_validate_against_the_kubernetes_schema(
    name: str, tmp_path: Path
) -> None:
    if name in _CHAINS:
        chain = _CHAINS[name]
    else:
        chain = _chain(tmp_path, {"every_feature": EVERY_FEATURE}.get(name, THREE_HOPS))
    out = tmp_path / "out"
    _build(chain, out, "kubernetes")
    documents = list(_documents(out))
    manifest = json.loads((out / "chain.json").read_text())
    assert len(documents) == 2 * len(manifest["chainlets"])
    for filename, document in documents:
        try:
            _validate(document)
        except (
            kubernetes_validate.ValidationError
        ) as exc:  # pragma: no cover - the failure
            pytest.fail(f"{filename}: {document['kind']}: {exc}")


def test_the_schema_check_rejects_a_broken_manifest(tmp_path: Path) -> None:
    """The validation above can fail: a wrong type, an unknown field, a missing field."""
    out = tmp_path / "out"
    _build(_chain(tmp_path, THREE_HOPS), out, "kubernetes")
    deployment = _by_kind(out)["Deployment"]["leaf"]
    _validate(deployment)
    breakers: tuple[Callable[[dict[str, Any]], object], ...] = (
        lambda c: c["ports"][0].__setitem__("containerPort", "eight thousand"),
        lambda c: c.__setitem__("enviroment", []),
        lambda c: c.pop("name"),
    )
    for break_it in breakers:
        broken = json.loads(json.dumps(deployment))
        break_it(broken["spec"]["template"]["spec"]["containers"][0])
        with pytest.raises(kubernetes_validate.ValidationError):
            _validate(broken)


def _readme_block(readme: str, heading: str) -> str:
    """The bash block under a heading of the generated README."""
    section = readme.split(heading, 1)[1]
    return section.split("```bash\n", 1)[1].split("```", 1)[0]


def test_kustomize_applies_the_readme_registry_to_every_image(tmp_path: Path) -> None:
    """What `kubectl apply -k` would send, after the README's own command set a registry.

    Rendered by kubectl's kustomize (offline), validated against the schema, with every
    image from the registry. The README's command is run twice: it must not stack.
    """
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        skip_or_fail("kubectl is not installed (Debian: kubernetes-client)")
    out = tmp_path / "out"
    _build(_chain(tmp_path, EVERY_FEATURE), out, "kubernetes")
    readme = (out / deploy.KUBERNETES_DIR / "README.md").read_text()
    command = _readme_block(readme, "Set the registry and the tag")
    env = {**os.environ, "REGISTRY": "registry.example.com/team", "TAG": "v7"}
    for _ in range(2):
        subprocess.run(["bash", "-c", command], cwd=out, env=env, check=True)
    rendered = subprocess.run(
        [kubectl, "kustomize", str(out / deploy.KUBERNETES_DIR)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    documents = list(yaml.safe_load_all(rendered))
    images: set[str] = set()
    for document in documents:
        _validate(document)
        if document["kind"] == "Deployment":
            images.update(
                c["image"] for c in document["spec"]["template"]["spec"]["containers"]
            )
    assert images == {
        f"registry.example.com/team/{package}:v7"
        for package in ("9_lives_embedder", "ranker", "search")
    }
    # The README's build loop names exactly the packages.
    loop = _readme_block(readme, "Build and push the images")
    assert "for package in 9_lives_embedder ranker search; do" in loop


# -- the wiring ------------------------------------------------------------------------


def _env(deployment: dict[str, Any]) -> dict[str, dict[str, Any]]:
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {item["name"]: item for item in container["env"]}


def test_each_chainlet_reaches_its_dependencies_through_their_services(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    _build(_chain(tmp_path, EVERY_FEATURE), out, "kubernetes")
    manifest = json.loads((out / "chain.json").read_text())
    chainlets = manifest["chainlets"]
    objects = _by_kind(out)
    deployments, services = objects["Deployment"], objects["Service"]
    assert deployments.keys() == services.keys()
    assert len(deployments) == len(chainlets)

    def pods_behind(service: dict[str, Any]) -> list[str]:
        selector = service["spec"]["selector"]
        return [
            name
            for name, d in deployments.items()
            if selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
        ]

    by_package = {
        d["spec"]["template"]["spec"]["containers"][0]["image"]: name
        for name, d in deployments.items()
    }
    for info in chainlets.values():
        name = by_package[info["package"]]
        deployment = deployments[name]
        assert pods_behind(services[name]) == [name]
        assert (
            deployment["spec"]["selector"]["matchLabels"]
            == services[name]["spec"]["selector"]
        )
        env = _env(deployment)
        wanted = {
            chainlets[d]["name"]: chainlets[d]["package"] for d in info["dependencies"]
        }
        if not wanted:
            assert "CHAINSC_SERVICES" not in env
            continue
        urls = json.loads(env["CHAINSC_SERVICES"]["value"])
        assert urls.keys() == wanted.keys()
        for display_name, url in urls.items():
            match = re.fullmatch(r"http://([a-z0-9-]+):(\d+)", url)
            assert match is not None, url
            host, port = match.group(1), int(match.group(2))
            target = by_package[wanted[display_name]]
            assert pods_behind(services[host]) == [target]
            assert services[host]["spec"]["ports"][0]["port"] == port
            container = deployments[target]["spec"]["template"]["spec"]["containers"][0]
            assert container["ports"][0]["containerPort"] == port
            assert _env(deployments[target])["PORT"]["value"] == str(port)


def test_secrets_are_references_and_gpus_requests(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _build(_chain(tmp_path, EVERY_FEATURE), out, "kubernetes")
    deployments = _by_kind(out)["Deployment"]
    embedder = deployments[deploy.dns_label("9_lives_embedder", prefix="chainlet")]
    env = _env(embedder)
    for key in ("hf_access_token", "OpenAIKey"):
        variable = runtime_serving.secret_env_var(key)
        assert env[variable] == {
            "name": variable,
            "valueFrom": {"secretKeyRef": {"name": "search-secrets", "key": key}},
        }
    assert env["CHAINSC_API_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "search-secrets",
        "key": "chainsc_api_key",
    }
    # Every secret of every Chainlet comes from the Secret: no value is ever written.
    for deployment in deployments.values():
        for item in _env(deployment).values():
            if item["name"] == "CHAINSC_API_KEY" or item["name"].startswith(
                "CHAINSC_SECRET_"
            ):
                assert "value" not in item
    assert env["QUOTED"]["value"] == 'say "$HOME" \\ now'
    assert env["LINES"]["value"] == "one\ntwo"

    pod = embedder["spec"]["template"]["spec"]
    resources = pod["containers"][0]["resources"]
    assert resources["requests"] == {
        "cpu": "4",
        "memory": "16Gi",
        "nvidia.com/gpu": "2",
    }
    assert resources["limits"] == {"memory": "16Gi", "nvidia.com/gpu": "2"}
    assert pod["nodeSelector"] == {"chainsc.dev/accelerator": "A10G"}
    assert deployments["ranker"]["spec"]["template"]["spec"]["nodeSelector"] == {
        "chainsc.dev/accelerator": "T4"
    }
    search = deployments["search"]["spec"]["template"]["spec"]
    assert "nodeSelector" not in search
    assert "tolerations" not in search
    assert "nvidia.com/gpu" not in search["containers"][0]["resources"]["requests"]


def test_pods_stop_after_the_server_has_drained(tmp_path: Path) -> None:
    """The kubelet's grace is longer than the drain the server is given (and its default)."""
    assert deploy.DRAIN_TIMEOUT_SEC == runtime_server.DEFAULT_DRAIN_TIMEOUT_SEC
    out = tmp_path / "out"
    _build(_chain(tmp_path, THREE_HOPS), out, "kubernetes")
    for deployment in _by_kind(out)["Deployment"].values():
        pod = deployment["spec"]["template"]["spec"]
        drain = float(_env(deployment)[runtime_server.DRAIN_TIMEOUT_ENV_VAR]["value"])
        assert pod["terminationGracePeriodSeconds"] >= drain + 10
        container = pod["containers"][0]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert pod["securityContext"]["runAsNonRoot"] is True


# -- Dockerfiles -------------------------------------------------------------------------


def _instructions(dockerfile: str) -> list[str]:
    """The instructions, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", dockerfile)
    return [
        line
        for line in joined.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def test_a_dockerfile_installs_requirements_first_and_runs_as_a_user(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    _build(_chain(tmp_path, EVERY_FEATURE), out, "docker")
    dockerfile = (out / "9_lives_embedder" / "Dockerfile").read_text()
    steps = _instructions(dockerfile)
    assert steps[0] == "ARG BASE_IMAGE=python:3.11-slim"
    assert steps[1] == "FROM ${BASE_IMAGE}"
    copy_requirements = steps.index("COPY requirements.txt ./")
    install = next(i for i, s in enumerate(steps) if s.startswith("RUN pip install -r"))
    copy_all = steps.index("COPY . .")
    user = steps.index("USER 10001:10001")
    assert copy_requirements < install < copy_all < user
    assert "'uvicorn>=0.30,<1'" in steps[install]
    apt = next(s for s in steps if "apt-get install" in s)
    assert apt.index("apt-get") < install
    assert "libgomp1 curl" in apt
    assert 'ENV QUOTED="say \\"\\$HOME\\" \\\\ now"' in steps
    assert 'ENV LINES="one\\ntwo"' in steps
    health = next(s for s in steps if s.startswith("HEALTHCHECK"))
    assert "/readyz" in health
    assert "PORT" in health
    assert steps[-1] == 'CMD ["python", "server.py"]'
    assert "EXPOSE 8000" in steps


LOCKED_PYPROJECT = """[project]
name = "locked"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["aiohttp>=3.9,<4", "httpx>=0.27,<1", "msgpack>=1.0,<2", "pydantic>=2.7,<3"]
"""
UV_LOCK = """version = 1
requires-python = ">=3.11"

[[package]]
name = "locked"
version = "0.1.0"
source = { virtual = "." }
""" + "".join(
    f'\n[[package]]\nname = "{name}"\nversion = "{version}"\n'
    'source = { registry = "https://pypi.org/simple" }\n'
    for name, version in (
        ("aiohttp", "3.10.0"),
        ("httpx", "0.28.1"),
        ("msgpack", "1.1.0"),
        ("pydantic", "2.9.2"),
    )
)


@pytest.mark.parametrize("kind", ["uv.lock", "pyproject.toml"])
def test_a_dockerfile_installs_a_project(kind: str, tmp_path: Path) -> None:
    """A complete `uv.lock` is exported with uv; a `pyproject.toml` is a requirements.txt."""
    chain = _chain(
        tmp_path,
        "import truss_chains as chains\n\n\n"
        "class Entry(chains.ChainletBase):\n"
        "    remote_config = chains.RemoteConfig(\n"
        "        docker_image=chains.DockerImage(\n"
        f'            requirements_file=chains.make_abs_path_here("{kind}"),\n'
        "            base_image=chains.BasetenImage.PY310,\n"
        "        )\n"
        "    )\n\n"
        "    def run_remote(self) -> str:\n"
        '        return "ok"\n',
    )
    (chain.parent / "pyproject.toml").write_text(LOCKED_PYPROJECT)
    if kind == "uv.lock":
        (chain.parent / "uv.lock").write_text(UV_LOCK)
    out = tmp_path / "out"
    _build(chain, out, "docker")
    steps = _instructions((out / "entry" / "Dockerfile").read_text())
    assert steps[0] == "ARG BASE_IMAGE=python:3.10-slim"
    if kind == "pyproject.toml":
        assert not (out / "entry" / kind).exists()
        copied = "COPY requirements.txt ./"
    else:
        assert (out / "entry" / "uv.lock").is_file()
        copied = "COPY uv.lock pyproject.toml ./"
    install = steps[steps.index(copied) + 1]
    if kind == "uv.lock":
        assert install.startswith("RUN pip install 'uv>=0.5' && uv export --frozen")
        assert " && uv pip install -r /tmp/chainsc-requirements.txt 'uvicorn" in install
    else:
        assert install.startswith("RUN pip install -r requirements.txt 'uvicorn")
    assert steps.index(copied) < steps.index("COPY . .")


def test_a_custom_base_image_is_the_default_base() -> None:
    from chainsc import ir  # noqa: PLC0415

    image = ir.DockerImage(
        base_image=ir.BaseImage(
            kind=ir.BaseImageKind.CUSTOM,
            image="nvcr.io/nvidia/pytorch:24.01-py3",
            python_version=None,
            python_executable_path="/usr/bin/python3.10",
        )
    )
    assert deploy.base_image(image) == (
        "nvcr.io/nvidia/pytorch:24.01-py3",
        "/usr/bin/python3.10",
    )
    assert deploy.base_image(ir.DockerImage()) == ("python:3.11-slim", "python3")


# -- names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("text_to_num", "text-to-num"),
        ("TextToNum", "text-to-num"),
        ("chainlet", "chainlet"),
    ],
)
def test_dns_labels(text: str, expected: str) -> None:
    assert deploy.dns_label(text, prefix="chainlet") == expected


def test_dns_labels_that_had_to_change_stay_distinct() -> None:
    long = "x" * 70
    labels = {
        deploy.dns_label(text, prefix="chainlet")
        for text in ("9_lives", "chainlet_9_lives", long, long + "y", "_")
    }
    assert len(labels) == 5
    for label in labels:
        assert re.fullmatch(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?", label), label


@pytest.mark.parametrize(
    "name", ["hf_access_token", "OpenAIKey", "my-key", "HTTPServerKey", "a.b"]
)
def test_secret_variables_are_the_runtimes(name: str) -> None:
    assert deploy.secret_env_var(name) == runtime_serving.secret_env_var(name)


def test_deploy_options() -> None:
    assert deploy.DeployOptions.of(["kubernetes"]).docker
    assert not deploy.DeployOptions.of(["docker"]).kubernetes
    assert deploy.DeployOptions.of([]) == deploy.DeployOptions()
    with pytest.raises(ValueError, match="helm"):
        deploy.DeployOptions.of(["helm"])


# -- Chainlets chainsc does not serve ------------------------------------------------

ENGINE_CHAIN = """import truss_chains as chains
from truss.base import trt_llm_config, truss_config


class Llama(chains.EngineBuilderLLMChainlet):
    remote_config = chains.RemoteConfig(
        compute=chains.Compute(gpu=truss_config.Accelerator.H100)
    )
    engine_builder_config = trt_llm_config.TRTLLMConfiguration(
        root=trt_llm_config.TRTLLMConfigurationV1(
            build=trt_llm_config.TrussTRTLLMBuildConfiguration(
                checkpoint_repository=trt_llm_config.CheckpointRepository(
                    source=trt_llm_config.CheckpointSource.HF, repo="org/model"
                ),
            ),
        )
    )
"""

ASK_CHAIN = (
    ENGINE_CHAIN
    + """

@chains.mark_entrypoint
class Ask(chains.ChainletBase):
    def __init__(self, llm=chains.depends(Llama)) -> None:
        self._llm = llm

    async def run_remote(self, prompt: str) -> str:
        text = []
        async for piece in self._llm.run_remote(
            chains.EngineBuilderLLMInput(prompt=prompt)
        ):
            text.append(piece)
        return "".join(text)
"""
)


def test_an_engine_dependency_is_left_to_the_platform_at_its_service_name(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    _build(_chain(tmp_path, ASK_CHAIN), out, "kubernetes")
    # The engine's package is its config.yaml only: no image, no workload.
    assert sorted(p.name for p in (out / "llama").iterdir()) == ["config.yaml"]
    assert (out / "ask" / "Dockerfile").is_file()
    objects = _by_kind(out)
    assert sorted(objects["Deployment"]) == ["ask"]
    assert sorted(objects["Service"]) == ["ask"]
    for _, document in _documents(out):
        _validate(document)
    kustomization = yaml.safe_load(
        (out / deploy.KUBERNETES_DIR / deploy.KUSTOMIZATION).read_text()
    )
    assert kustomization["resources"] == ["ask.yaml"]
    assert [image["name"] for image in kustomization["images"]] == ["ask"]
    # Its caller finds it where the README asks the platform team to provide it.
    urls = json.loads(_env(objects["Deployment"]["ask"])["CHAINSC_SERVICES"]["value"])
    assert urls == {"Llama": "http://llama:8000"}
    readme = (out / deploy.KUBERNETES_DIR / "README.md").read_text()
    assert "| `Llama` | `llama` | a TensorRT-LLM engine" in readme
    assert "for package in ask; do" in readme


def test_images_of_a_chain_only_baseten_serves_are_refused_where_it_is_defined(
    tmp_path: Path,
) -> None:
    chain = _chain(tmp_path, ENGINE_CHAIN)
    out = tmp_path / "out"
    result = run_cli("build", str(chain), "-o", str(out), "--with", "docker")
    assert result.returncode == 1, result.stderr
    assert (
        "chain.py:5:7: error[CSC014]: `--with docker`: the entrypoint `Llama` is an engine builder"
        in result.stderr
    )
    assert "deploy this chain with `chainsc push`" in result.stderr
    assert not out.exists()
    # Without `--with` it builds.
    assert run_cli("build", str(chain), "-o", str(out)).returncode == 0
