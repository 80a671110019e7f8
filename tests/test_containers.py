"""The built images of a chain, run with podman, wired exactly as the Kubernetes manifests say.

`chainsc build --with kubernetes` a three-Chainlet chain of our own (tests/deploy_chain.py),
build each package's image from its own Dockerfile (the README's `podman build` per package),
set the registry and tag with the README's own command, then run one container per replica of
each Deployment on a podman network. Every `podman run` argument comes from the manifests: the
image (through `kustomization.yaml`'s `images:`), the environment (values as written, each
`secretKeyRef` from the Secret a platform team would create, here a dict), the Service's name
as the container's network alias (what the Service's DNS name is in the cluster), the user and
the stop timeout. Then the entrypoint is called through every hop; SIGTERM is sent to
containers with a request in flight; and with two replicas of two Chainlets, calls spread
across both and a replica killed mid-load costs no request.

Needs podman, runc and debootstrap (Debian packages; `.ci/run` installs them) and root. No
registry image can be pulled here, so the base image is made from Debian packages with
`debootstrap --variant=minbase` (python3 and its venv module), with this machine's CA bundle
(package downloads may pass a TLS-inspecting proxy), once per machine: it is tagged by a hash
of its recipe and reused while the recipe is the same. Images build with `--network host`
(pip reaches the package index). Containers run with `--runtime runc` (crun fails on this
kernel's cgroup setup); `/etc/containers/containers.conf` needs `default_ulimits = []`.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from chainsc.emit import deploy
from tests.conftest import run_cli, skip_or_fail
from tests.deploy_chain import THREE_HOPS

pytestmark = pytest.mark.slow

#: The Debian release of the base image: its python3 is the chain's Python (3.11).
SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
PACKAGES = ("python3", "python3-venv", "ca-certificates")
#: This machine's CA bundle, copied into the base image (pip must trust what the host trusts).
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
IMAGE_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
BASE_IMAGE_NAME = "localhost/chainsc-test-base"
#: Serialises image builds across pytest workers and concurrent runs on this machine.
LOCK_FILE = Path(tempfile.gettempdir()) / "chainsc-test-containers.lock"

#: The Secret the platform team creates (`kubectl create secret generic ...`).
API_KEY = "test-api-key-" + uuid.uuid4().hex[:8]
SECRET_VALUES = {deploy.API_KEY_SECRET_KEY: API_KEY, "leaf_token": "leaf-secret-7"}

READY_TIMEOUT_SEC = 90.0
PODMAN_RUN = ("--runtime", "runc")


def _podman(
    *args: str, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["podman", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"podman {' '.join(args[:3])} ... failed ({result.returncode}):\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


@pytest.fixture(scope="module")
def tools() -> None:
    missing = [
        tool for tool in ("podman", "runc", "debootstrap") if shutil.which(tool) is None
    ]
    if missing:
        skip_or_fail(
            f"{', '.join(missing)} not installed (apt-get install podman runc debootstrap)"
        )
    if os.geteuid() != 0:
        skip_or_fail("the container tests run podman as root")


@contextlib.contextmanager
def _machine_lock() -> Iterator[None]:
    with LOCK_FILE.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _base_recipe() -> dict[str, object]:
    """Everything the base image is made of: its tag is a hash of this."""
    bundle = HOST_CA_BUNDLE.read_bytes() if HOST_CA_BUNDLE.is_file() else b""
    return {
        "debootstrap": ["--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE],
        "mirror": MIRROR,
        "ca_bundle_sha256": hashlib.sha256(bundle).hexdigest(),
        "env": {"PIP_CERT": IMAGE_CA_BUNDLE, "SSL_CERT_FILE": IMAGE_CA_BUNDLE},
        "recipe": 1,
    }


def _make_base_image(tag: str, recipe: dict[str, object]) -> None:
    with tempfile.TemporaryDirectory(dir="/var/tmp", prefix="chainsc-base-") as work:
        root = Path(work) / "root"
        arguments = recipe["debootstrap"]
        assert isinstance(arguments, list)
        made = subprocess.run(
            ["debootstrap", *arguments, str(root), MIRROR],
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )
        assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
        if HOST_CA_BUNDLE.is_file():
            shutil.copyfile(HOST_CA_BUNDLE, root / IMAGE_CA_BUNDLE.lstrip("/"))
        for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for entry in (root / cache).glob("*"):
                if entry.is_file():
                    entry.unlink()
        env = recipe["env"]
        assert isinstance(env, dict)
        changes = [
            arg
            for name, value in sorted(env.items())
            for arg in ("--change", f"ENV {name}={value}")
        ]
        with subprocess.Popen(
            ["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE
        ) as tar:
            imported = subprocess.run(
                ["podman", "import", *changes, "-", tag],
                stdin=tar.stdout,
                capture_output=True,
                text=True,
                check=False,
                timeout=300,
            )
        assert imported.returncode == 0, imported.stderr[-3000:]


@pytest.fixture(scope="module")
def base_image(tools: None) -> str:
    """The Debian base image with Python, made once per machine (keyed by its recipe)."""
    recipe = _base_recipe()
    key = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]
    tag = f"{BASE_IMAGE_NAME}:{key}"
    with _machine_lock():
        if _podman("image", "exists", tag, check=False).returncode != 0:
            started = time.monotonic()
            _make_base_image(tag, recipe)
            print(f"base image {tag} made in {time.monotonic() - started:.0f} s")
    return tag


@dataclass(frozen=True)
class Workload:
    """One Deployment with its Service, read from the generated manifests."""

    name: str
    deployment: dict[str, Any]
    service: dict[str, Any]
    image: str

    @property
    def pod(self) -> dict[str, Any]:
        pod: dict[str, Any] = self.deployment["spec"]["template"]["spec"]
        return pod

    @property
    def container(self) -> dict[str, Any]:
        container: dict[str, Any] = self.pod["containers"][0]
        return container

    @property
    def port(self) -> int:
        port: int = self.container["ports"][0]["containerPort"]
        return port

    def run_arguments(self, secrets: dict[str, str], secret_name: str) -> list[str]:
        """What `podman run` needs to run this pod as the manifests say."""
        arguments: list[str] = []
        for item in self.container["env"]:
            if "value" in item:
                arguments += ["--env", f"{item['name']}={item['value']}"]
                continue
            reference = item["valueFrom"]["secretKeyRef"]
            assert reference["name"] == secret_name, reference
            arguments += ["--env", f"{item['name']}={secrets[reference['key']]}"]
        context = self.pod["securityContext"]
        arguments += ["--user", f"{context['runAsUser']}:{context['runAsGroup']}"]
        arguments += ["--stop-timeout", str(self.pod["terminationGracePeriodSeconds"])]
        # The Service's name is the pod's DNS name in the cluster.
        arguments += ["--network-alias", self.service["metadata"]["name"]]
        return arguments


@dataclass(frozen=True)
class Built:
    out: Path
    workloads: dict[str, Workload]
    secret_name: str
    entrypoint: str


def _read_workloads(out: Path) -> dict[str, Workload]:
    directory = out / deploy.KUBERNETES_DIR
    kustomization = yaml.safe_load((directory / deploy.KUSTOMIZATION).read_text())
    images = {
        entry["name"]: f"{entry['newName']}:{entry['newTag']}"
        for entry in kustomization["images"]
    }
    deployments: dict[str, dict[str, Any]] = {}
    services: list[dict[str, Any]] = []
    for resource in kustomization["resources"]:
        for document in yaml.safe_load_all((directory / resource).read_text()):
            if document["kind"] == "Deployment":
                deployments[document["metadata"]["name"]] = document
            else:
                assert document["kind"] == "Service"
                services.append(document)
    workloads = {}
    for name, deployment in deployments.items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        (service,) = [
            s for s in services if s["spec"]["selector"].items() <= labels.items()
        ]
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert (
            service["spec"]["ports"][0]["port"]
            == container["ports"][0]["containerPort"]
        )
        workloads[name] = Workload(
            name, deployment, service, images[container["image"]]
        )
    return workloads


@pytest.fixture(scope="module")
def built(base_image: str, tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The chain built with `--with kubernetes`, its images built from its Dockerfiles."""
    project = tmp_path_factory.mktemp("project")
    (project / "chain.py").write_text(THREE_HOPS, encoding="utf-8")
    out = tmp_path_factory.mktemp("containers") / "out"
    result = run_cli(
        "build", str(project / "chain.py"), "-o", str(out), "--with", "kubernetes"
    )
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "chain.json").read_text())
    packages = sorted(info["package"] for info in manifest["chainlets"].values())
    tag = hashlib.sha256(
        (
            base_image
            + "".join(info["package_sha256"] for info in manifest["chainlets"].values())
        ).encode()
    ).hexdigest()[:12]
    registry = "localhost/chainsc-test"
    # The README's own command sets the registry and the tag.
    readme = (out / deploy.KUBERNETES_DIR / "README.md").read_text()
    command = readme.split("Set the registry and the tag", 1)[1].split("```bash\n", 1)[
        1
    ]
    command = command.split("```", 1)[0]
    subprocess.run(
        ["bash", "-c", command],
        cwd=out,
        env={**os.environ, "REGISTRY": registry, "TAG": tag},
        check=True,
    )
    started = time.monotonic()
    with _machine_lock():
        for package in packages:
            # As the README's loop builds them, with the local base image.
            _podman(
                "build",
                *PODMAN_RUN,
                "--network",
                "host",
                "--format",
                "docker",
                "--build-arg",
                f"BASE_IMAGE={base_image}",
                "-t",
                f"{registry}/{package}:{tag}",
                str(out / package),
                timeout=600,
            )
        # After the build: the layers the new images share with them stay cached.
        _remove_stale_images(registry, tag)
    print(f"{len(packages)} images built in {time.monotonic() - started:.0f} s")
    workloads = _read_workloads(out)
    entry = manifest["chainlets"][manifest["entrypoint"]]["package"]
    (entrypoint,) = [
        w.name for w in workloads.values() if w.image.startswith(f"{registry}/{entry}:")
    ]
    # The Secret the README has the platform team create.
    secret = readme.split("kubectl create secret generic ", 1)[1].split()[0]
    return Built(out, workloads, secret, entrypoint)


def _remove_stale_images(registry: str, tag: str) -> None:
    """The images earlier runs built of other versions of the chain (their layers are shared).

    Only those over an hour old: a run of another checkout may be using its own now.
    """
    listed = _podman(
        "images", "--filter", "until=1h", "--format", "{{.Repository}}:{{.Tag}}"
    ).stdout.split()
    stale = [
        image
        for image in listed
        if image.startswith(f"{registry}/") and not image.endswith(f":{tag}")
    ]
    if stale:
        _podman("rmi", *stale, check=False)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Cluster:
    """Containers on one podman network, as the manifests place pods behind Services."""

    def __init__(self, built: Built) -> None:
        self.built = built
        self.network = f"chainsc-test-{uuid.uuid4().hex[:10]}"
        self.containers: dict[str, list[str]] = {}
        self.entry_port = _free_port()
        _podman("network", "create", self.network)

    def start(self, replicas: dict[str, int] | None = None) -> None:
        """One container per replica of each Deployment (`spec.replicas`, or as scaled)."""
        for name, workload in sorted(self.built.workloads.items()):
            count = (replicas or {}).get(name, workload.deployment["spec"]["replicas"])
            for index in range(count):
                container = f"{self.network}-{name}-{index}"
                arguments = workload.run_arguments(
                    SECRET_VALUES, self.built.secret_name
                )
                if name == self.built.entrypoint:
                    arguments += [
                        "--publish",
                        f"127.0.0.1:{self.entry_port}:{workload.port}",
                    ]
                _podman(
                    "run",
                    *PODMAN_RUN,
                    "--detach",
                    "--name",
                    container,
                    "--hostname",
                    container,
                    "--network",
                    self.network,
                    *arguments,
                    workload.image,
                )
                self.containers.setdefault(name, []).append(container)
        for containers in self.containers.values():
            for container in containers:
                self.wait_ready(container)

    def wait_ready(self, container: str) -> None:
        """Until the image's HEALTHCHECK (GET /readyz) passes."""
        deadline = time.monotonic() + READY_TIMEOUT_SEC
        while time.monotonic() < deadline:
            if _podman("healthcheck", "run", container, check=False).returncode == 0:
                return
            state = _podman("inspect", "--format", "{{.State.Status}}", container)
            if state.stdout.strip() not in ("running", "created"):
                break
            time.sleep(0.5)
        raise AssertionError(f"{container} is not ready:\n{self.logs(container)}")

    def logs(self, container: str) -> str:
        result = _podman("logs", container, check=False)
        return (result.stdout + result.stderr)[-4000:]

    def call(
        self,
        body: dict[str, object],
        *,
        api_key: str | None = API_KEY,
        timeout: float = 60,
    ) -> tuple[int, Any]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.entry_port}/run_remote",
            data=json.dumps(body).encode(),
            headers={
                "Content-Type": "application/json",
                **({"Authorization": f"Api-Key {api_key}"} if api_key else {}),
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")

    def remove(self) -> None:
        for containers in self.containers.values():
            for container in containers:
                _podman("rm", "--force", "--time", "0", container, check=False)
        _podman("network", "rm", "--force", self.network, check=False)


@pytest.fixture
def cluster(built: Built) -> Iterator[Cluster]:
    running = Cluster(built)
    try:
        yield running
    finally:
        running.remove()


def _hops(reply: Any) -> dict[str, list[str]]:
    """`{"entry": [], "middle": [host, tag], "leaf": [host, token]}`."""
    return {hop.split(":")[0]: hop.split(":")[1:] for hop in reply["hops"]}


def test_the_entrypoint_answers_through_every_hop(cluster: Cluster) -> None:
    cluster.start()
    status, reply = cluster.call({"text": "hello"})
    assert status == 200, reply
    assert reply["text"] == "HELLO"
    hops = _hops(reply)
    assert list(hops) == ["entry", "middle", "leaf"]
    # Each hop ran in its own container, with its environment and its secret.
    assert hops["middle"][0] in cluster.containers["middle"]
    assert hops["middle"][1] == "mid-1"
    assert hops["leaf"] == [cluster.containers["leaf"][0], "leaf-secret-7"]
    # The API key from the Secret is required of callers.
    status, body = cluster.call({"text": "hello"}, api_key=None)
    assert status == 401, body
    # Not root, as the image and the manifests say.
    user = _podman("exec", cluster.containers["leaf"][0], "id", "-u").stdout.strip()
    assert user == str(deploy.RUN_AS_UID)


def test_sigterm_lets_a_request_in_flight_finish(cluster: Cluster) -> None:
    """SIGTERM to the entrypoint and the middle hop while a request waits at the leaf.

    The signal is sent once the leaf has logged the request (so it is in flight through
    both), and the reply must come after it: a slow machine cannot make this pass vacuously.
    """
    cluster.start()
    leaf = cluster.containers["leaf"][0]
    outcome: dict[str, Any] = {}

    def slow_call() -> None:
        outcome["reply"] = cluster.call({"text": "slow", "delay": 6.0})
        outcome["finished"] = time.monotonic()

    caller = threading.Thread(target=slow_call)
    caller.start()
    deadline = time.monotonic() + 60
    while "leaf got slow" not in cluster.logs(leaf):
        assert time.monotonic() < deadline, cluster.logs(leaf)
        time.sleep(0.2)
    stopping = [cluster.containers["entry"][0], cluster.containers["middle"][0]]
    for container in stopping:
        _podman("kill", "--signal", "TERM", container)
    signalled = time.monotonic()
    caller.join(timeout=60)
    status, reply = outcome["reply"]
    assert status == 200, reply
    assert reply["text"] == "SLOW"
    assert outcome["finished"] > signalled
    for container in stopping:
        code = _podman("wait", container, timeout=60).stdout.strip()
        assert code == "0", cluster.logs(container)
        assert "Stopped" in cluster.logs(container)


def test_calls_spread_across_two_replicas_and_a_killed_one_costs_no_request(
    cluster: Cluster,
) -> None:
    cluster.start(replicas={"middle": 2, "leaf": 2})
    answered = 0
    lock = threading.Lock()
    milestones: dict[int, threading.Event] = {}

    def call(index: int, delay: float) -> tuple[int, Any]:
        nonlocal answered
        outcome = cluster.call({"text": f"n{index}", "delay": delay})
        with lock:
            answered += 1
            if answered in milestones:
                milestones[answered].set()
        return outcome

    def load(count: int, delay: float) -> list[tuple[int, Any]]:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            return list(pool.map(lambda i: call(i, delay), range(count)))

    replies = load(48, 0.1)
    assert all(status == 200 for status, _ in replies), replies
    for hop in ("middle", "leaf"):
        served = Counter(_hops(reply)[hop][0] for _, reply in replies)
        assert set(served) == set(cluster.containers[hop]), served
        assert min(served.values()) >= len(replies) // 5, served

    # Kill (SIGKILL) one leaf replica, then one middle replica, mid-load: after 20 and 60
    # of 160 calls have answered.
    answered = 0
    milestones = {20: threading.Event(), 60: threading.Event()}
    results: list[list[tuple[int, Any]]] = []
    loader = threading.Thread(target=lambda: results.append(load(160, 0.25)))
    loader.start()
    assert milestones[20].wait(timeout=120)
    _podman("kill", cluster.containers["leaf"][0])
    assert milestones[60].wait(timeout=120)
    _podman("kill", cluster.containers["middle"][0])
    loader.join(timeout=300)
    (replies,) = results
    failed = [(status, reply) for status, reply in replies if status != 200]
    assert not failed, failed[:3]
    # The killed replicas had their share of this load before they died, and the
    # survivors took the rest.
    for hop in ("middle", "leaf"):
        served = Counter(_hops(reply)[hop][0] for _, reply in replies)
        assert served[cluster.containers[hop][0]] > 0, served
        assert served[cluster.containers[hop][1]] > served[cluster.containers[hop][0]]
