"""Deployment files of a build: a `Dockerfile` per package, Kubernetes manifests per chain.

Stage: back end (plan). Written only when the build is asked for them
(`chainsc build ... --with docker`, `--with kubernetes`, which implies `docker`):
`DeployOptions` is data the planner is handed, never read from disk. Pure: the
Dockerfile's context is computed here and rendered by the planner (the template
`chainlet/Dockerfile.jinja`); the manifests are plain data dumped as YAML with
sorted keys (`emit.truss_config.render_config_yaml`, the emitter of `config.yaml`).
Imports: the standard library, `chainsc.ir`, `chainsc.emit.truss_config`.

What the files promise, and why (LAYOUT.md lists them):

- Every container listens on `CONTAINER_PORT` (`PORT`, on all interfaces: `HOST`), and
  each Chainlet's Service exposes that same port, so `CHAINSC_SERVICES` names
  `http://<service>:8000` inside the cluster and on any container network where the
  containers carry the Service names (tests/test_containers.py runs them that way).
- `CHAINSC_SERVICES` of a Chainlet names its direct dependencies only, by the Service's
  short DNS name: it resolves in whatever namespace the chain is applied to.
- Secrets are never values: `remote_config.assets.secret_keys` become `secretKeyRef`s
  (`CHAINSC_SECRET_<NAME>`, as the runtime reads them) of one Secret per chain
  (`secret_name`), which the platform team creates; so is the API key the Chainlets
  require from callers and send to each other (`API_KEY_SECRET_KEY`).
- A GPU is a request (and limit) of `nvidia.com/gpu` and a node selector on
  `GPU_NODE_LABEL` whose value is the accelerator as the chain names it (`A10G`,
  `H100`, ...): the platform team labels its GPU nodes with it (README: "Deploy on
  Kubernetes"); a toleration of the usual `nvidia.com/gpu` taint comes with it.
- `terminationGracePeriodSeconds` is the server's drain timeout plus a margin, so a
  pod that is stopped finishes what it has in flight before the kubelet kills it.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from chainsc import ir
from chainsc.emit.truss_config import render_config_yaml

#: What `--with` may name.
DOCKER = "docker"
KUBERNETES = "kubernetes"
TARGETS = (DOCKER, KUBERNETES)

#: The port every container listens on, and every Service exposes.
CONTAINER_PORT = 8000
#: The server's drain timeout (`chainsc_runtime.server.DEFAULT_DRAIN_TIMEOUT_SEC`; a test
#: holds them equal), set explicitly in each container.
DRAIN_TIMEOUT_SEC = 30
#: What the kubelet waits beyond the drain before SIGKILL (the server's exit, log flush).
GRACE_MARGIN_SEC = 15
#: The user the images run as (numeric, so `runAsNonRoot` can check it).
RUN_AS_UID = 10001
#: Where the package is in the image, and the virtualenv of its requirements.
APP_DIR = "/app"
VENV_DIR = "/opt/chainsc/venv"
#: The base image when the chain names none of its own: Python's slim image of the
#: chain's Python version.
DEFAULT_PYTHON = "3.11"
#: uv, which exports a `uv.lock` to requirements (as `--isolated` does; a `pyproject.toml`
#: requirements file is a `requirements.txt` in the package).
UV_REQUIREMENT = "uv>=0.5"

#: The node label a GPU Chainlet selects, valued by the accelerator's name.
GPU_NODE_LABEL = "chainsc.dev/accelerator"
#: The extended resource of NVIDIA's device plugin.
GPU_RESOURCE = "nvidia.com/gpu"
#: The key, in the chain's Secret, of the API key (`CHAINSC_API_KEY`).
API_KEY_SECRET_KEY = "chainsc_api_key"

#: Where the Kubernetes files go in `out/`.
KUBERNETES_DIR = "deploy/kubernetes"
KUSTOMIZATION = "kustomization.yaml"
#: The tag of every image in `kustomization.yaml` until the user sets theirs.
DEFAULT_TAG = "latest"

_LABEL_MAX = 63
_DIGEST_CHARS = 8
#: The runtime's variable names (`chainsc_runtime.transport` and `.serving`).
SERVICES_ENV_VAR = "CHAINSC_SERVICES"
API_KEY_ENV_VAR = "CHAINSC_API_KEY"
DRAIN_TIMEOUT_ENV_VAR = "CHAINSC_DRAIN_TIMEOUT"


@dataclass(frozen=True, slots=True)
class DeployOptions:
    """Which deployment files a build writes (`--with`); none by default."""

    targets: frozenset[str] = frozenset()

    @classmethod
    def of(cls, names: Iterable[str]) -> DeployOptions:
        """The options for `--with` names; `kubernetes` brings `docker` (its images).

        Raises:
            ValueError: a name is not one of `TARGETS`.
        """
        targets = set(names)
        unknown = sorted(targets - set(TARGETS))
        if unknown:
            raise ValueError(f"unknown deployment target(s): {', '.join(unknown)}")
        if KUBERNETES in targets:
            targets.add(DOCKER)
        return cls(frozenset(targets))

    @property
    def docker(self) -> bool:
        """Write a `Dockerfile` in every package."""
        return DOCKER in self.targets

    @property
    def kubernetes(self) -> bool:
        """Write `deploy/kubernetes/`."""
        return KUBERNETES in self.targets


# -- Dockerfile ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DockerfileContext:
    """`chainlet/Dockerfile.jinja`: every value already quoted for its place."""

    source: str
    display_name: str
    base_image: str
    python: str
    port: int
    uid: int
    app_dir: str
    venv_dir: str
    #: `apt-get install` arguments (shell-quoted), or "" for none.
    apt_packages: str
    #: The files copied before the requirements are installed (`COPY` arguments).
    requirement_files: tuple[str, ...]
    #: The shell command that installs the requirements and the server's.
    install: str
    #: `remote_config.build_commands`, each as a JSON exec-form `RUN` argument.
    build_commands: tuple[str, ...]
    #: `ENV` lines of `ChainletOptions.env_variables` (JSON-quoted values).
    env: tuple[str, ...]
    #: The HEALTHCHECK command, JSON exec form.
    healthcheck: str


def base_image(image: ir.DockerImage) -> tuple[str, str]:
    """The default base image of a package and the Python that makes its virtualenv.

    A chain's own base image (`DockerImage(base_image=BaseImage(image=...))`) with
    its `python_executable_path`; else Python's slim image of the chain's version.
    """
    base = image.base_image
    if base.kind is ir.BaseImageKind.CUSTOM:
        return base.image, base.python_executable_path or "python3"
    version = base.python_version or ""
    digits = version.removeprefix("py")
    python = f"{digits[0]}.{digits[1:]}" if digits.isdigit() and len(digits) > 1 else ""
    return f"python:{python or DEFAULT_PYTHON}-slim", "python3"


def dockerfile_context(
    chainlet: ir.Chainlet,
    source: str,
    package_files: Mapping[str, bytes],
    server_requirements: Iterable[str],
) -> DockerfileContext:
    """The Dockerfile of one package, from its Chainlet and the files of the package.

    Its requirements are a `requirements.txt`, or the user's complete `uv.lock` with
    its `pyproject.toml` (see `chainsc.requirements`): whichever the package has.
    """
    remote = chainlet.remote_config
    image, python = base_image(remote.docker_image)
    server = " ".join(shlex.quote(line) for line in server_requirements)
    if "uv.lock" in package_files:
        copied: tuple[str, ...] = ("uv.lock", "pyproject.toml")
        exported = "/tmp/chainsc-requirements.txt"
        install = (
            f"pip install {shlex.quote(UV_REQUIREMENT)}"
            " && uv export --frozen --format requirements-txt --no-hashes"
            f" --no-emit-project --quiet --output-file {exported}"
            f" && uv pip install -r {exported} {server}"
            f" && rm {exported}"
        )
    elif "requirements.txt" in package_files:
        copied = ("requirements.txt",)
        install = f"pip install -r requirements.txt {server}"
    else:
        copied = ()
        install = f"pip install {server}"
    probe = (
        "import os, urllib.request; urllib.request.urlopen("
        "'http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/readyz', timeout=3)"
    )
    return DockerfileContext(
        source=source,
        display_name=chainlet.display_name,
        base_image=image,
        python=python,
        port=CONTAINER_PORT,
        uid=RUN_AS_UID,
        app_dir=APP_DIR,
        venv_dir=VENV_DIR,
        apt_packages=" ".join(
            shlex.quote(name) for name in remote.docker_image.apt_requirements
        ),
        requirement_files=copied,
        install=install,
        build_commands=tuple(
            json.dumps(["/bin/sh", "-c", command]) for command in remote.build_commands
        ),
        env=tuple(
            f"{name}={_dockerfile_quote(value)}"
            for name, value in sorted(remote.options.env_variables)
            if _ENV_NAME.match(name)
        ),
        healthcheck=json.dumps(["python", "-c", probe]),
    )


#: The variable names an `ENV` line can carry (others are set by the manifests only).
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _dockerfile_quote(value: str) -> str:
    r"""A value for a Dockerfile `ENV` line: double quotes, with `\`, `"` and `$` escaped.

    A line break cannot be written on an `ENV` line; it becomes the two characters
    `\n` (a backslash is kept before any other character); the Kubernetes
    manifests carry the exact value.
    """
    escaped = (
        value.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("$", "\\$")
        .replace("\r", "\\r")
        .replace("\n", "\\n")
    )
    return f'"{escaped}"'


# -- Kubernetes ---------------------------------------------------------------------

#: A document of a manifest, as `render_config_yaml` takes it.
Document = dict[str, object]


def dns_label(text: str, *, prefix: str) -> str:
    """`text` as a DNS-1035 label (a Service's name): lowercase, `-`, a letter first, 63 at most.

    A label that had to be prefixed (it did not start with a letter) or shortened
    ends in 8 hex digits of `text`'s hash, so two different names never meet.
    """
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", text)
    label = re.sub(r"[^a-z0-9]+", "-", spaced.lower()).strip("-")
    if label and label[0].isalpha() and len(label) <= _LABEL_MAX:
        return label
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:_DIGEST_CHARS]
    if not label or not label[0].isalpha():
        label = f"{prefix}-{label}".rstrip("-")
    keep = _LABEL_MAX - _DIGEST_CHARS - 1
    return f"{label[:keep].rstrip('-')}-{digest}"


def secret_env_var(name: str) -> str:
    """`CHAINSC_SECRET_<NAME>`, as `chainsc_runtime.serving.secret_env_var` spells it."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name)
    return "CHAINSC_SECRET_" + re.sub(r"[^A-Za-z0-9]+", "_", spaced).strip("_").upper()


@dataclass(frozen=True, slots=True)
class Workload:
    """One Chainlet on Kubernetes: its Deployment, Service and image."""

    chainlet: ir.Chainlet
    #: The package directory (and the image's name).
    package: str
    #: The Deployment's and the Service's name.
    name: str

    @property
    def manifest(self) -> str:
        """Its file under `deploy/kubernetes/`."""
        return f"{self.package}.yaml"

    @property
    def url(self) -> str:
        """Its base URL inside the cluster (the namespace's short DNS name)."""
        return f"http://{self.name}:{CONTAINER_PORT}"


@dataclass(frozen=True, slots=True)
class KubernetesReadmeContext:
    """`deploy/kubernetes/README.md.jinja`."""

    source: str
    chain: str
    entrypoint: str
    entrypoint_service: str
    endpoint_name: str
    #: (package, Service name) of every Chainlet chainsc serves, sorted by package.
    workloads: tuple[tuple[str, str], ...]
    #: (Chainlet, Service name, what serves it) of each Chainlet the platform team
    #: provides (an engine builder, a TrussChainlet), sorted by package.
    provided: tuple[tuple[str, str, str], ...]
    secret_name: str
    api_key_secret_key: str
    #: The chain's secret names (the keys of the Secret besides the API key), sorted.
    secret_keys: tuple[str, ...]
    #: (Chainlet, accelerator, count) of each Chainlet that needs a GPU.
    gpus: tuple[tuple[str, str, int], ...]
    #: The accelerators among them, sorted.
    gpu_types: tuple[str, ...]
    gpu_node_label: str
    port: int
    drain_timeout: int


#: What serves a Chainlet that has no chainsc server, for the README.
_PROVIDED_WHAT = {
    ir.ChainletKind.ENGINE_BUILDER: "a TensorRT-LLM engine (an `EngineBuilderLLMChainlet`): "
    "a server of the engine that takes the `EngineBuilderLLMInput` JSON by POST and "
    "streams text back",
    ir.ChainletKind.TRUSS: "a TrussChainlet: its Truss directory served by Truss "
    "(its package is that directory)",
}


def chain_label(chain: ir.Chain) -> str:
    """The chain's name as a label value (`app.kubernetes.io/part-of`) and name prefix."""
    return dns_label(chain.name, prefix="chain")


def secret_name(chain: ir.Chain) -> str:
    """The Secret the platform team creates for the chain: its secrets and the API key."""
    return f"{chain_label(chain)}-secrets"


def workloads(packages: Mapping[str, str], chain: ir.Chain) -> tuple[Workload, ...]:
    """Every deployed Chainlet's workload, sorted by package (`packages`: id -> directory)."""
    by_id = {c.id: c for c in chain.chainlets}
    return tuple(
        Workload(by_id[chainlet_id], package, dns_label(package, prefix="chainlet"))
        for chainlet_id, package in sorted(packages.items(), key=lambda item: item[1])
    )


def kubernetes_files(
    chain: ir.Chain, packages: Mapping[str, str]
) -> tuple[dict[str, bytes], KubernetesReadmeContext]:
    """The manifests under `deploy/kubernetes/` (without its README), and the README's context.

    One file per Chainlet (its Deployment and Service), and `kustomization.yaml`,
    which lists them and names every image, so `kubectl apply -k` applies the chain
    and a registry and tag are set in one place.
    """
    every = workloads(packages, chain)
    # An engine builder or a TrussChainlet has no server of chainsc's to run: its callers
    # find it at the Service name it would have, which the platform team provides.
    deployed = tuple(w for w in every if w.chainlet.has_code)
    by_id = {w.chainlet.id: w for w in every}
    files: dict[str, bytes] = {}
    for workload in deployed:
        documents = [
            _deployment(chain, workload, by_id),
            _service(chain, workload),
        ]
        files[f"{KUBERNETES_DIR}/{workload.manifest}"] = _yaml_documents(
            documents, chain.source
        )
    kustomization: Document = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [w.manifest for w in deployed],
        "images": [
            {"name": w.package, "newName": w.package, "newTag": DEFAULT_TAG}
            for w in deployed
        ],
    }
    files[f"{KUBERNETES_DIR}/{KUSTOMIZATION}"] = render_config_yaml(
        kustomization, chain.source
    ).encode("utf-8")
    entry = by_id[chain.entrypoint]
    readme = KubernetesReadmeContext(
        source=chain.source,
        chain=chain.name,
        entrypoint=entry.chainlet.display_name,
        entrypoint_service=entry.name,
        endpoint_name=entry.chainlet.endpoint.name,
        workloads=tuple((w.package, w.name) for w in deployed),
        provided=tuple(
            (
                w.chainlet.display_name,
                w.name,
                _PROVIDED_WHAT[w.chainlet.kind],
            )
            for w in every
            if not w.chainlet.has_code
        ),
        secret_name=secret_name(chain),
        api_key_secret_key=API_KEY_SECRET_KEY,
        secret_keys=tuple(
            sorted(
                {
                    key
                    for w in deployed
                    for key in w.chainlet.remote_config.assets.secret_keys
                }
            )
        ),
        gpus=tuple(
            (w.chainlet.display_name, gpu, w.chainlet.remote_config.compute.gpu_count)
            for w in deployed
            if (gpu := w.chainlet.remote_config.compute.gpu) is not None
        ),
        gpu_types=tuple(
            sorted(
                {
                    gpu
                    for w in deployed
                    if (gpu := w.chainlet.remote_config.compute.gpu) is not None
                }
            )
        ),
        gpu_node_label=GPU_NODE_LABEL,
        port=CONTAINER_PORT,
        drain_timeout=DRAIN_TIMEOUT_SEC,
    )
    return files, readme


def _yaml_documents(documents: list[Document], source: str) -> bytes:
    """Several YAML documents in one file, the generated header once."""
    texts = [render_config_yaml(document, source) for document in documents]
    header, _, _ = texts[0].partition("\n")
    bodies = [text.partition("\n")[2] for text in texts]
    return (header + "\n" + "---\n".join(bodies)).encode("utf-8")


def _labels(chain: ir.Chain, workload: Workload) -> dict[str, object]:
    return {
        "app.kubernetes.io/name": workload.name,
        "app.kubernetes.io/part-of": chain_label(chain),
        "app.kubernetes.io/managed-by": "chainsc",
    }


def _selector(chain: ir.Chain, workload: Workload) -> dict[str, object]:
    return {
        "app.kubernetes.io/name": workload.name,
        "app.kubernetes.io/part-of": chain_label(chain),
    }


def _env(
    chain: ir.Chain, workload: Workload, by_id: Mapping[str, Workload]
) -> list[object]:
    """The container's environment, sorted by name: plain values, then secret references."""
    chainlet = workload.chainlet
    secret = secret_name(chain)
    values: dict[str, str] = dict(chainlet.remote_config.options.env_variables)
    values["PORT"] = str(CONTAINER_PORT)
    values["HOST"] = "0.0.0.0"
    values[DRAIN_TIMEOUT_ENV_VAR] = str(DRAIN_TIMEOUT_SEC)
    if chainlet.dependencies:
        services = {
            by_id[d.target].chainlet.display_name: by_id[d.target].url
            for d in chainlet.dependencies
        }
        values[SERVICES_ENV_VAR] = json.dumps(services, sort_keys=True)
    secrets = {API_KEY_ENV_VAR: API_KEY_SECRET_KEY}
    for key in chainlet.remote_config.assets.secret_keys:
        secrets[secret_env_var(key)] = key
    env: list[object] = []
    for name in sorted({*values, *secrets}):
        if name in secrets:
            env.append(
                {
                    "name": name,
                    "valueFrom": {
                        "secretKeyRef": {"name": secret, "key": secrets[name]}
                    },
                }
            )
        else:
            env.append({"name": name, "value": values[name]})
    return env


def _resources(compute: ir.Compute) -> dict[str, object]:
    """Requests of the Chainlet's CPU, memory and GPUs; limits of memory and GPUs.

    No CPU limit: a limit throttles a server that could use an idle core, while the
    request already reserves the Chainlet's share. Extended resources (GPUs) must
    have equal requests and limits.
    """
    requests: dict[str, object] = {
        "cpu": str(compute.cpu_count),
        "memory": compute.memory,
    }
    limits: dict[str, object] = {"memory": compute.memory}
    if compute.gpu is not None:
        requests[GPU_RESOURCE] = str(compute.gpu_count)
        limits[GPU_RESOURCE] = str(compute.gpu_count)
    return {"requests": requests, "limits": limits}


def _deployment(
    chain: ir.Chain, workload: Workload, by_id: Mapping[str, Workload]
) -> Document:
    compute = workload.chainlet.remote_config.compute
    pod: dict[str, object] = {
        "automountServiceAccountToken": False,
        "terminationGracePeriodSeconds": DRAIN_TIMEOUT_SEC + GRACE_MARGIN_SEC,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS_UID,
            "runAsGroup": RUN_AS_UID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [
            {
                "name": "chainlet",
                "image": workload.package,
                "imagePullPolicy": "IfNotPresent",
                "ports": [
                    {"name": "http", "containerPort": CONTAINER_PORT, "protocol": "TCP"}
                ],
                "env": _env(chain, workload, by_id),
                "resources": _resources(compute),
                "readinessProbe": {
                    "httpGet": {"path": "/readyz", "port": "http"},
                    "periodSeconds": 5,
                    "timeoutSeconds": 3,
                    "failureThreshold": 3,
                },
                "livenessProbe": {
                    "httpGet": {"path": "/healthz", "port": "http"},
                    "periodSeconds": 10,
                    "timeoutSeconds": 5,
                    "failureThreshold": 6,
                },
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"]},
                },
            }
        ],
    }
    if compute.gpu is not None:
        pod["nodeSelector"] = {GPU_NODE_LABEL: compute.gpu}
        pod["tolerations"] = [
            {"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}
        ]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": workload.name, "labels": _labels(chain, workload)},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": _selector(chain, workload)},
            # A new pod is ready before an old one stops: no request finds none.
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
            },
            "template": {
                "metadata": {"labels": _labels(chain, workload)},
                "spec": pod,
            },
        },
    }


def _service(chain: ir.Chain, workload: Workload) -> Document:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": workload.name, "labels": _labels(chain, workload)},
        "spec": {
            "type": "ClusterIP",
            "selector": _selector(chain, workload),
            "ports": [
                {
                    "name": "http",
                    "port": CONTAINER_PORT,
                    "targetPort": "http",
                    "protocol": "TCP",
                }
            ],
        },
    }
