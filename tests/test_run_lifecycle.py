"""`chainsc run`'s own faults: an API key, an ordered shutdown, no orphans.

Real runs of the `chainsc` console script on a three-hop chain (`A` -> `B` -> `C`, `C`
sleeping inside `run_remote`), real HTTP on 127.0.0.1. Every test stops or kills what it
started in a `finally`, and checks by pid that no server is left.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import pytest

from tests.conftest import CHAINSC, REPO, run_cli
from tests.test_run import _build, _free_port, _processes_in

pytestmark = pytest.mark.slow

HOPS_CHAIN = '''\
"""Three hops: A -> B -> C (sleeps), twice per request; each takes 64 requests at once."""

import asyncio
import logging
import os

import truss_chains as chains

LOG = logging.getLogger("hops")
CONCURRENT = chains.RemoteConfig(compute=chains.Compute(predict_concurrency=64))


class C(chains.ChainletBase):
    remote_config = CONCURRENT

    async def run_remote(self, text: str, delay: float) -> str:
        LOG.info("arrived %s", text)
        await asyncio.sleep(delay)
        # A test holds first calls here until it has sent its signal (HOPS_GATE: a file it
        # creates then), so they are in flight at the signal however loaded the machine is.
        gate = os.environ.get("HOPS_GATE", "")
        while gate and text.startswith("r") and not os.path.exists(gate):
            await asyncio.sleep(0.05)
        return f"C({text})"


class B(chains.ChainletBase):
    remote_config = CONCURRENT

    def __init__(self, c: C = chains.depends(C, timeout_sec=60)) -> None:
        self._c = c

    async def run_remote(self, text: str, delay: float) -> str:
        return f"B({await self._c.run_remote(text, delay)})"


@chains.mark_entrypoint
class A(chains.ChainletBase):
    remote_config = CONCURRENT

    def __init__(self, b: B = chains.depends(B, timeout_sec=60)) -> None:
        self._b = b

    async def run_remote(self, text: str, delay: float = 0.0) -> str:
        first = await self._b.run_remote(text, delay)
        # A second call after the first: a request in flight still needs every hop.
        second = await self._b.run_remote(text.upper(), 0.0)
        return f"A({first}+{second})"
'''

#: Generous bounds: the machine is shared.
READY_TIMEOUT = 90.0
EXIT_TIMEOUT = 60.0


class Run:
    """A `chainsc run` process and every line it printed (read by a thread as they come)."""

    def __init__(
        self, out: Path, port: int, env: dict[str, str], *, isolated: bool = False
    ) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self.process = subprocess.Popen(
            [
                str(CHAINSC),
                "run",
                *(["--isolated"] * isolated),
                str(out),
                "--port",
                str(port),
            ],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group, as a shell's foreground job has
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def output(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def wait_for(
        self, seen: Callable[[list[str]], bool], what: str, timeout: float
    ) -> None:
        """Until `seen(lines)` holds; fails naming `what` with the output."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not seen(self.lines):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (
                    self.process.poll() is not None and not self._reader.is_alive()
                ):
                    raise AssertionError(
                        f"{what} not seen; output:\n" + "\n".join(self.lines)
                    )
                self._changed.wait(min(remaining, 0.5))

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        self.wait_for(
            lambda lines: any("ready; entrypoint" in line for line in lines),
            "ready",
            timeout,
        )
        self.wait_for(
            lambda lines: any("chainsc: try" in line for line in lines),
            "the example",
            10,
        )

    def finish(self, timeout: float = EXIT_TIMEOUT) -> int:
        code = self.process.wait(timeout)
        self._reader.join(10)
        return code

    def kill(self) -> None:
        """SIGKILL the run if it still runs (clean-up after a failed test); close its pipe."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        self._reader.join(10)
        if self.process.stdout is not None:
            self.process.stdout.close()


def _kill_left(pids: list[int]) -> None:
    """SIGKILL the servers a failed test left behind (by pid, each once)."""
    for pid in pids:
        with suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


@contextmanager
def _running(
    out: Path, env: dict[str, str] | None = None, *, isolated: bool = False
) -> Iterator[Run]:
    """`chainsc run out` until the block ends; whatever is left then is killed, then checked."""
    run = Run(out, _free_port(), {**os.environ, **(env or {})}, isolated=isolated)
    try:
        yield run
    finally:
        run.kill()
        left = _processes_in(out)
        _kill_left(left)
    assert left == [], f"servers left running: {left}; output:\n{run.output()}"


def _hops(tmp_path: Path) -> Path:
    (tmp_path / "hops.py").write_text(HOPS_CHAIN)
    out = tmp_path / "out"
    _build(tmp_path / "hops.py", out)
    return out


def _refused(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(2.0)
        return sock.connect_ex(("127.0.0.1", port)) != 0


# API key ##############################################################################


def test_a_run_under_an_api_key_gets_ready_and_prints_an_example_that_sends_it(
    tmp_path: Path,
) -> None:
    out = _hops(tmp_path)
    key = f"key-{secrets.token_hex(8)}"
    keyed_env = {**os.environ, "CHAINSC_API_KEY": key}
    with _running(out, {"CHAINSC_API_KEY": key}) as run:
        run.wait_ready()  # its `/readyz` probes got through
        example = next(line for line in run.lines if "chainsc: try" in line).partition(
            "try  "
        )[2]
        assert '-H "Authorization: Api-Key $CHAINSC_API_KEY"' in example
        # The example works as printed, in a shell that has the key; nothing printed it.
        tried = subprocess.run(
            ["bash", "-c", example],
            env=keyed_env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert tried.stdout == '"A(B(C(text))+B(C(TEXT)))"', tried.stdout + tried.stderr
        # `chainsc call` sends the key from the environment; without it the entrypoint refuses.
        called = subprocess.run(
            [str(CHAINSC), "call", "--url", run.url, "--json", '{"text": "hi", "delay": 0}'],
            env=keyed_env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert (called.returncode, called.stdout.strip()) == (
            0,
            '"A(B(C(hi))+B(C(HI)))"',
        ), called.stderr
        refused = run_cli("call", "--url", run.url, "--json", '{"text": "hi"}')
        assert refused.returncode == 1
        assert "Missing or wrong API key" in refused.stdout
        with httpx.Client(timeout=30) as client:
            assert (
                client.post(f"{run.url}/run_remote", json={"text": "hi"}).status_code
                == 401
            )
            wrong = {"Authorization": "Api-Key nope"}
            assert (
                client.post(
                    f"{run.url}/run_remote", json={"text": "hi"}, headers=wrong
                ).status_code
                == 401
            )
            # The probes need no key (as on Truss's server); the schema does.
            assert client.get(f"{run.url}/readyz").status_code == 200
            assert client.get(f"{run.url}/healthz").status_code == 200
            assert client.get(f"{run.url}/openapi.json").status_code == 401
            keyed = {"Authorization": f"Api-Key {key}"}
            assert (
                client.get(f"{run.url}/openapi.json", headers=keyed).status_code == 200
            )
        run.process.send_signal(signal.SIGTERM)
        assert run.finish() == 0
    assert key not in run.output()


# Ordered shutdown #####################################################################

IN_FLIGHT = 32
DELAY_SEC = 2.0


def _stop_with(run: Run, how: str) -> None:
    if how == "SIGTERM":
        run.process.send_signal(signal.SIGTERM)
    else:  # Ctrl-C: the terminal sends SIGINT to the foreground process group
        os.killpg(run.process.pid, signal.SIGINT)


@pytest.mark.parametrize("how", ["SIGTERM", "Ctrl-C"])
def test_stopping_drains_requests_in_flight_through_every_hop(
    tmp_path: Path, how: str
) -> None:
    out = _hops(tmp_path)
    gate = tmp_path / "gate"
    with _running(out, {"HOPS_GATE": str(gate)}) as run:
        run.wait_ready()

        def call(index: int) -> tuple[int, str, float]:
            body = {"text": f"r{index}", "delay": DELAY_SEC}
            response = httpx.post(f"{run.url}/run_remote", json=body, timeout=60)
            return response.status_code, response.text, time.monotonic()

        with ThreadPoolExecutor(IN_FLIGHT) as pool:
            replies = [pool.submit(call, index) for index in range(IN_FLIGHT)]
            # Every request is in flight through all three hops: C has logged each first
            # call; each will call B (and so C) again after the signal.
            run.wait_for(
                lambda lines: sum("arrived r" in line for line in lines) >= IN_FLIGHT,
                f"{IN_FLIGHT} requests at C",
                60,
            )
            stopped = time.monotonic()
            _stop_with(run, how)
            gate.touch()  # the first calls may now answer: after the signal
            # The entrypoint stops accepting at once: a new request is refused, not left hanging.
            run.wait_for(
                lambda lines: any("[A] Shutting down" in line for line in lines),
                "A stopping",
                10,
            )
            time.sleep(0.2)
            with pytest.raises(httpx.ConnectError):
                httpx.post(
                    f"{run.url}/run_remote",
                    json={"text": "late", "delay": 0},
                    timeout=5,
                )
            results = [reply.result(timeout=60) for reply in replies]
        assert [(status, text) for status, text, _ in results] == [
            (200, f'"A(B(C(r{index}))+B(C(R{index})))"') for index in range(IN_FLIGHT)
        ], run.output()
        assert all(
            answered > stopped for _, _, answered in results
        )  # in flight at the signal
        assert run.finish() == 0
    lines = run.lines
    # Reverse dependency order: each Chainlet stops only after its caller has finished.
    first = {
        name: next(
            i for i, line in enumerate(lines) if f"[{name}] Shutting down" in line
        )
        for name in "ABC"
    }
    finished = {
        name: next(i for i, line in enumerate(lines) if f"[{name}] Stopped" in line)
        for name in "ABC"
    }
    assert first["A"] < finished["A"] < first["B"] < finished["B"] < first["C"], (
        "\n".join(lines)
    )
    assert "Cannot reach" not in run.output()


def test_a_second_ctrl_c_kills_what_still_drains(tmp_path: Path) -> None:
    out = _hops(tmp_path)
    with _running(out) as run:
        run.wait_ready()
        outcome: list[object] = []

        def call() -> None:
            try:
                outcome.append(
                    httpx.post(
                        f"{run.url}/run_remote",
                        json={"text": "stuck", "delay": 120},
                        timeout=60,
                    )
                )
            except httpx.HTTPError as exc:
                outcome.append(exc)

        caller = threading.Thread(target=call)
        caller.start()
        run.wait_for(
            lambda lines: any("arrived stuck" in line for line in lines),
            "the request at C",
            30,
        )
        os.killpg(run.process.pid, signal.SIGINT)
        run.wait_for(
            lambda lines: any("[A] Shutting down" in line for line in lines),
            "A draining",
            10,
        )
        time.sleep(0.5)
        assert (
            run.process.poll() is None
        )  # still draining: the request sleeps for minutes
        os.killpg(run.process.pid, signal.SIGINT)
        hurried = time.monotonic()
        assert run.finish(timeout=20) == 0
        assert time.monotonic() - hurried < 10
        caller.join(30)
        assert len(outcome) == 1, outcome
        assert isinstance(outcome[0], httpx.HTTPError), outcome  # cut, not answered
        assert not isinstance(outcome[0], httpx.TimeoutException), outcome  # at once


# No orphans ###########################################################################


def _alive(pid: int) -> bool:
    """The process exists and is not a zombie (an orphan's zombie waits for init)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _server_ports(run: Run) -> list[int]:
    """The port of every server, from uvicorn's "running on" lines."""
    return sorted(
        {
            int(m[1])
            for line in run.lines
            if (m := re.search(r"Uvicorn running on http://127\.0\.0\.1:(\d+)", line))
        }
    )


def assert_sigkill_leaves_no_server(
    out: Path,
    chainlets: int,
    *,
    isolated: bool = False,
    env: dict[str, str] | None = None,
) -> None:
    """Kill `chainsc run out` with SIGKILL once ready: within seconds no server runs or answers."""
    with _running(out, env, isolated=isolated) as run:
        run.wait_ready(timeout=300 if isolated else READY_TIMEOUT)
        servers = _processes_in(out)
        ports = _server_ports(run)
        assert len(servers) == len(ports) == chainlets, run.output()
        assert not any(_refused(port) for port in ports)
        run.process.send_signal(signal.SIGKILL)
        assert run.finish() == -signal.SIGKILL
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in servers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [pid for pid in servers if _alive(pid)] == [], run.output()
        assert all(_refused(port) for port in ports)


def test_servers_exit_when_the_supervisor_is_killed(tmp_path: Path) -> None:
    out = _hops(tmp_path)
    started = time.monotonic()
    assert_sigkill_leaves_no_server(out, 3)
    assert time.monotonic() - started < READY_TIMEOUT + 15


def test_a_server_started_by_hand_does_not_watch_a_supervisor(tmp_path: Path) -> None:
    """Only `chainsc run` turns the watch on: a bad or absent variable changes nothing."""
    out = _hops(tmp_path)
    port = _free_port()
    env = {**os.environ, "CHAINSC_SUPERVISOR_FD": "99"}  # not an open pipe here
    with subprocess.Popen(
        [sys.executable, "server.py", "--port", str(port)],
        cwd=out / "c", env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    ) as server:  # fmt: skip
        try:
            deadline = time.monotonic() + READY_TIMEOUT
            while _refused(port):
                assert server.poll() is None
                assert time.monotonic() < deadline
                time.sleep(0.05)
            reply = httpx.post(
                f"http://127.0.0.1:{port}/run_remote",
                json={"text": "x", "delay": 0},
                timeout=30,
            )
            assert reply.json() == "C(x)"
        finally:
            server.send_signal(signal.SIGTERM)
            code = server.wait(EXIT_TIMEOUT)
            assert server.stdout is not None
            log = server.stdout.read()
    assert code == 0
    assert (
        "`CHAINSC_SUPERVISOR_FD=99` is not an inherited pipe: not watching the supervisor"
        in log
    )
