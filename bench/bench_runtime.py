"""By-hand benchmark of the chainsc runtime's serving path (not a test).

Usage: ``.venv/bin/python bench/bench_runtime.py [--seconds 10]`` (needs ``wrk``)

It writes a two-Chainlet chain (an async `Echo`, and an async entrypoint `Front`
that calls it once, or `fan_out` times concurrently), builds it with the real
``chainsc build`` and starts each package's generated ``server.py`` on 127.0.0.1.
Next to them, in the same run, it starts a bare baseline: a minimal raw ASGI echo on
uvicorn (httptools, uvloop) and a bare one-hop forwarder (raw ASGI + one
``aiohttp.ClientSession``, the runtime's async client, set up as the runtime does) in
front of it. Every server process runs under a
``gc.callbacks`` hook (for the generated servers, a wrapper that then runs
``server.py``) that writes its collections and pause times at exit.

The load generator is ``wrk`` (one thread) for every target, so every target sees the
same client. For the four targets (bare echo, chainsc `Echo`: no hop; bare forwarder,
chainsc `Front`: one hop) it measures:

- sequential latency: one connection, ``--rounds`` rounds of ``--seq-seconds`` per
  target, interleaved, after a warm-up;
- throughput and latency at concurrency 32: 32 connections for ``--seconds``;
- a fan-out of 100 calls (bare forwarder and `Front`), one connection;
- VmRSS of every server process before and after >= 10,000 and >= 20,000 requests at
  concurrency 32;
- the collector's pauses in every server while measuring.

The markdown report is printed and written to ``bench/results/runtime.md``.
Every server is stopped (SIGTERM, then SIGKILL) when the script ends.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import gc
import json
import math
import os
import platform
import runpy
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import aiohttp
import httpx

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_FILE = BENCH_DIR / "results" / "runtime.md"

CONCURRENCY = 32
FAN_OUT = 100
MEMORY_BATCH = 10_000
STARTUP_TIMEOUT = 60.0
#: The issue's figures for Truss's own model server on a 2-core machine.
TRUSS_RPS_C32 = 850
#: Targets.
P50_RATIO_TARGET = 1.5
RPS_TARGET = 3 * TRUSS_RPS_C32
P99_TARGET_MS = 20.0

CHAIN = '''\
"""Two Chainlets for bench_runtime.py: Front calls Echo once, or `fan_out` times."""

import asyncio

import truss_chains as chains

CONFIG = chains.RemoteConfig(compute=chains.Compute(predict_concurrency=256))


class Echo(chains.ChainletBase):
    remote_config = CONFIG

    async def run_remote(self, text: str) -> str:
        return text


@chains.mark_entrypoint
class Front(chains.ChainletBase):
    remote_config = CONFIG

    def __init__(self, echo: Echo = chains.depends(Echo)) -> None:
        self._echo = echo

    async def run_remote(self, text: str, fan_out: int = 0) -> str:
        if not fan_out:
            return await self._echo.run_remote(text)
        replies = await asyncio.gather(
            *(self._echo.run_remote(text) for _ in range(fan_out))
        )
        return replies[-1]
'''

BODY = b'{"text":"hello"}'
FAN_BODY = b'{"text":"hello","fan_out":%d}' % FAN_OUT
HEADERS = {"Content-Type": "application/json"}

WRK_SCRIPT = """\
wrk.method = "POST"
wrk.body = '%s'
wrk.headers["Content-Type"] = "application/json"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%%.0f,"duration_us":%%.0f,"p50":%%.0f,"p90":%%.0f,' ..
    '"p99":%%.0f,"p999":%%.0f,"max":%%.0f,"connect":%%.0f,"read":%%.0f,' ..
    '"write":%%.0f,"status":%%.0f,"timeout":%%.0f}\\n',
    summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
"""

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


# Inside the server processes ###########################################################


def install_gc_probe(report: str) -> None:
    """Time every collection; at exit write `[[wall clock, generation, pause ms], ...]`."""
    pauses: list[tuple[float, int, float]] = []
    started = [0.0]

    def probe(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pause = (time.perf_counter() - started[0]) * 1000
            pauses.append((time.time(), info["generation"], pause))

    def dump() -> None:
        Path(report).write_text(json.dumps(pauses), encoding="utf-8")

    gc.callbacks.append(probe)
    atexit.register(dump)
    # uvicorn re-raises SIGTERM after its graceful shutdown with the handler it found:
    # exit normally so that `dump` runs (the generated server.py installs its own).
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))


def gc_summary(pauses: list[list[float]], since: float) -> dict[str, Any]:
    """Collections per generation, total and longest pauses after `since` (wall clock)."""
    window = [(int(gen), ms) for at, gen, ms in pauses if at >= since]
    return {
        "collections": [sum(1 for gen, _ in window if gen == g) for g in (0, 1, 2)],
        "total_ms": sum(ms for _, ms in window),
        "max_ms": max((ms for _, ms in window), default=0.0),
        "max_gen2_ms": max((ms for gen, ms in window if gen == 2), default=0.0),
    }


async def _read_body(receive: Receive) -> bytes:
    parts = []
    while True:
        message = await receive()
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts)


async def _reply(send: Send, body: bytes, status: int = 200) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(body)),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def bare_echo(scope: Scope, receive: Receive, send: Send) -> None:
    """The bare baseline: reply with the request body."""
    if scope["type"] == "http":
        await _reply(send, await _read_body(receive))


class BareForwarder:
    """The bare one-hop baseline: POST the body upstream, reply with its reply.

    It uses the HTTP client of the runtime's async calls (`chainsc_runtime.transport`), set
    up the same way: one `aiohttp.ClientSession` whose `TCPConnector` keeps up to 300
    connections (`RPCOptions().concurrency_limit`), idle ones for 4 s.
    `?n=K` sends K concurrent upstream calls (the fan-out) and replies with the last.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/") + "/run_remote"
        self.session: aiohttp.ClientSession | None = None

    async def post(self, body: bytes) -> tuple[int, bytes]:
        """One upstream call: its status and body."""
        if self.session is None:
            self.session = aiohttp.ClientSession(
                headers=HEADERS,
                connector=aiohttp.TCPConnector(
                    limit=300, limit_per_host=0, keepalive_timeout=4.0
                ),
                timeout=aiohttp.ClientTimeout(total=600.0),
                trust_env=False,
            )
        async with self.session.post(self.upstream, data=body) as reply:
            return reply.status, await reply.read()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = await _read_body(receive)
        query = scope["query_string"]
        fan_out = int(query[2:]) if query.startswith(b"n=") else 0
        if fan_out:
            replies = await asyncio.gather(*(self.post(body) for _ in range(fan_out)))
            status, content = replies[-1]
        else:
            status, content = await self.post(body)
        await _reply(send, content, status)


def serve_bare(
    app: Callable[[Scope, Receive, Send], Awaitable[None]], port: int
) -> None:
    """Serve `app` like the runtime does: uvicorn, httptools, uvloop, no access log."""
    import uvicorn  # noqa: PLC0415

    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        ws="none",
        lifespan="off",
        interface="asgi3",
        log_level="warning",
        access_log=False,
        server_header=False,
        proxy_headers=False,
    )


def child_main(argv: list[str]) -> int:
    """The server side: `_echo PORT GC_REPORT`, `_forward PORT UPSTREAM GC_REPORT`,
    `_wrap GC_REPORT SERVER_PY ARGS...`."""
    mode = argv[0]
    if mode == "_echo":
        install_gc_probe(argv[2])
        serve_bare(bare_echo, int(argv[1]))
    elif mode == "_forward":
        install_gc_probe(argv[3])
        serve_bare(BareForwarder(argv[2]), int(argv[1]))
    elif mode == "_wrap":
        install_gc_probe(argv[1])
        sys.argv = argv[2:]
        runpy.run_path(argv[2], run_name="__main__")
    else:
        raise SystemExit(f"unknown mode {mode}")
    return 0


# The load side #########################################################################


@dataclass
class Server:
    """One server process."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    gc_report: Path
    log: Path

    def rss_mib(self) -> float:
        """VmRSS from /proc."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return math.nan


@dataclass
class Target:
    """What wrk sends requests to."""

    label: str
    hops: int
    url: str
    body: bytes
    servers: list[Server]


@dataclass(frozen=True)
class WrkResult:
    """One wrk run; latencies in ms."""

    rps: float
    p50: float
    p90: float
    p99: float
    p999: float
    max: float
    requests: int
    errors: int


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start(
    name: str, argv: list[str], url: str, work: Path, env: dict[str, str]
) -> Server:
    """Start one server process, its output to a log file."""
    log = work / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **env}
        )
    return Server(name, url, process, work / f"{name}.gc.json", log)


def wait_ready(servers: list[Server], ready_path: dict[str, str]) -> None:
    """Poll each server until it answers 200 (bounded)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    with httpx.Client(timeout=2.0) as client:
        for server in servers:
            while True:
                if server.process.poll() is not None:
                    raise SystemExit(
                        f"{server.name} exited {server.process.returncode}:\n"
                        + server.log.read_text(errors="replace")
                    )
                path = ready_path[server.name]
                try:
                    if path == "/readyz":
                        reply = client.get(server.url + path)
                    else:
                        reply = client.post(server.url + path, content=BODY)
                    if reply.status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit(
                        f"{server.name} not ready after {STARTUP_TIMEOUT} s"
                    )
                time.sleep(0.05)


def stop(servers: list[Server]) -> None:
    """SIGTERM each server, wait, SIGKILL what is left."""
    for server in servers:
        if server.process.poll() is None:
            server.process.send_signal(signal.SIGTERM)
    for server in servers:
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=5)


def run_wrk(target: Target, connections: int, seconds: int, work: Path) -> WrkResult:
    """wrk with one thread and `connections` connections for `seconds`."""
    script = work / f"wrk_{target.label.split()[0]}_{len(target.body)}.lua"
    script.write_text(WRK_SCRIPT % target.body.decode(), encoding="utf-8")
    proc = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            target.url,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    )
    line = next(x for x in proc.stdout.splitlines() if x.startswith("WRKJSON "))
    data = json.loads(line.removeprefix("WRKJSON "))
    return WrkResult(
        rps=data["requests"] / (data["duration_us"] / 1e6),
        p50=data["p50"] / 1000,
        p90=data["p90"] / 1000,
        p99=data["p99"] / 1000,
        p999=data["p999"] / 1000,
        max=data["max"] / 1000,
        requests=int(data["requests"]),
        errors=sum(
            int(data[k]) for k in ("connect", "read", "write", "status", "timeout")
        ),
    )


@dataclass(frozen=True)
class Sequential:
    """Sequential latency (1 connection): the median of the rounds' percentiles."""

    p50: float
    p99: float
    max: float
    requests: int
    errors: int


def sequential(
    targets: list[Target], rounds: int, seconds: int, work: Path
) -> dict[str, Sequential]:
    """wrk with one connection, targets interleaved in rounds so drift hits all alike."""
    for target in targets:  # warm-up
        run_wrk(target, 1, 1, work)
    runs: dict[str, list[WrkResult]] = {t.label: [] for t in targets}
    for _ in range(rounds):
        for target in targets:
            runs[target.label].append(run_wrk(target, 1, seconds, work))
    return {
        label: Sequential(
            p50=statistics.median(r.p50 for r in results),
            p99=statistics.median(r.p99 for r in results),
            max=max(r.max for r in results),
            requests=sum(r.requests for r in results),
            errors=sum(r.errors for r in results),
        )
        for label, results in runs.items()
    }


def memory(target: Target, work: Path) -> tuple[dict[str, list[float]], list[int], int]:
    """VmRSS of the target's servers now and after >= 10,000 and >= 20,000 requests
    (concurrency 32); the request counts at the checkpoints; the errors."""
    rss = {s.name: [s.rss_mib()] for s in target.servers}
    done, errors, counts = 0, 0, []
    for checkpoint in (MEMORY_BATCH, 2 * MEMORY_BATCH):
        for _ in range(100):  # bounded
            if done >= checkpoint:
                break
            result = run_wrk(target, CONCURRENCY, 2, work)
            done += result.requests
            errors += result.errors
        counts.append(done)
        for server in target.servers:
            rss[server.name].append(server.rss_mib())
    return rss, counts, errors


def build_chain(work: Path) -> Path:
    """Write the chain and build it with the real CLI; the output directory."""
    chainsc = Path(sys.executable).parent / "chainsc"
    if not chainsc.exists():
        raise SystemExit(f"no chainsc at {chainsc}; run with .venv/bin/python")
    (work / "chain.py").write_text(CHAIN, encoding="utf-8")
    out = work / "out"
    subprocess.run(
        [str(chainsc), "build", str(work / "chain.py"), "-o", str(out)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return out


def machine_info() -> list[tuple[str, str]]:
    """Facts about the machine and software the numbers were taken on."""
    cpu_model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break

    def git(*args: str) -> str:
        proc = subprocess.run(
            ["git", *args], capture_output=True, text=True, cwd=REPO_ROOT, check=False
        )
        return proc.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    if git(
        "status", "--porcelain", "--", "runtime_lib", "compiler", "codegen_templates"
    ):
        commit += " + uncommitted changes to the runtime or compiler"
    wrk = subprocess.run(
        ["wrk", "--version"], capture_output=True, text=True, check=False
    )
    wrk_version = (wrk.stdout + wrk.stderr).split(" [")[0].strip()
    versions = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in ("uvicorn", "httptools", "uvloop", "aiohttp", "httpx", "pydantic")
    )
    return [
        ("CPU", cpu_model),
        (
            "nproc (usable / online)",
            f"{len(os.sched_getaffinity(0))} / {os.cpu_count()}",
        ),
        ("OS", f"{platform.system()} {platform.release()} {platform.machine()}"),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("chainsc", f"{metadata.version('chainsc')} ({commit})"),
        ("servers", versions),
        ("load generator", f"{wrk_version}, one thread, on the same machine"),
        ("date", time.strftime("%Y-%m-%d")),
    ]


def fmt(value: float, digits: int = 2) -> str:
    """A number for the tables."""
    return f"{value:,.{digits}f}"


def verdict(ok: bool) -> str:
    """Met, or missed in bold."""
    return "met" if ok else "**MISSED**"


@dataclass
class Results:
    """Everything measured."""

    seq: dict[str, Sequential]
    c32: dict[str, WrkResult]
    fan: dict[str, WrkResult]
    rss: dict[str, list[float]]
    rss_counts: dict[str, list[int]]
    rss_errors: int
    gc: dict[str, dict[str, Any]]
    loads: tuple[float, float]


def report(targets: list[Target], res: Results, args: argparse.Namespace) -> str:
    """The markdown report."""
    lines = ["## chainsc runtime benchmark", "", "| Machine | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in machine_info()]
    lines.append(
        f"| load average (1 min) before / after | {res.loads[0]:.2f} / {res.loads[1]:.2f} |"
    )
    lines += [
        "",
        f"Latency in ms. Sequential: one connection, {args.rounds} rounds of {args.seq_seconds} s per "
        f"target, interleaved, after a warm-up (median of the rounds; max over all). "
        f"Concurrency {CONCURRENCY}: {CONCURRENCY} connections for {args.seconds} s per target.",
        "",
        "| Target | hops | seq p50 | seq p99 | seq max | c32 req/s | c32 p50 | c32 p99 | c32 p99.9 | c32 max | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for t in targets:
        s, w = res.seq[t.label], res.c32[t.label]
        lines.append(
            f"| {t.label} | {t.hops} | {fmt(s.p50, 3)} | {fmt(s.p99, 3)} | {fmt(s.max)} | {fmt(w.rps, 0)} | "
            f"{fmt(w.p50)} | {fmt(w.p99)} | {fmt(w.p999)} | {fmt(w.max)} | {s.errors + w.errors} |"
        )
    lines += [
        "",
        f"Fan-out: each request makes {FAN_OUT} concurrent calls to the echo and waits for all "
        f"(one connection, {args.fan_seconds} s per target), ms:",
        "",
        "| Target | requests | p50 | p99 | max | p50 per call | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, w in res.fan.items():
        lines.append(
            f"| {label} | {w.requests:,} | {fmt(w.p50)} | {fmt(w.p99)} | {fmt(w.max)} | {fmt(w.p50 / FAN_OUT, 3)} | {w.errors} |"
        )
    lines += [
        "",
        f"Memory: VmRSS (MiB) of each server before and after its one-hop target got {MEMORY_BATCH:,} "
        f"and {2 * MEMORY_BATCH:,} more requests at concurrency {CONCURRENCY} (after the sequential "
        f"runs; {res.rss_errors} errors):",
        "",
        "| Server | before | after ≥ 10,000 | after ≥ 20,000 | growth, 2nd batch | requests at checkpoints |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, values in res.rss.items():
        counts = " / ".join(f"{c:,}" for c in res.rss_counts[name])
        lines.append(
            f"| {name} | {fmt(values[0], 1)} | {fmt(values[1], 1)} | {fmt(values[2], 1)} | {fmt(values[2] - values[1], 1)} | {counts} |"
        )
    lines += [
        "",
        "Garbage collector while measuring (`gc.callbacks` in each server process; start-up "
        "and `load()` excluded):",
        "",
        "| Server | collections gen 0 / 1 / 2 | total pause (ms) | longest (ms) | longest gen 2 (ms) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, stats in res.gc.items():
        c = stats["collections"]
        lines.append(
            f"| {name} | {c[0]:,} / {c[1]:,} / {c[2]:,} | {fmt(stats['total_ms'])} | {fmt(stats['max_ms'])} | {fmt(stats['max_gen2_ms'])} |"
        )
    bare0, chain0, bare1, chain1 = (res.seq[t.label] for t in targets)
    ratio = chain1.p50 / bare1.p50
    w1, wb = res.c32[targets[3].label], res.c32[targets[2].label]
    growth = max(v[2] - v[1] for v in res.rss.values())
    errors = (
        sum(s.errors for s in res.seq.values())
        + sum(w.errors for w in res.c32.values())
        + sum(w.errors for w in res.fan.values())
        + res.rss_errors
    )
    lines += [
        "",
        f"Targets (chainsc one hop, `{targets[3].label}`):",
        "",
        f"- p50 within {P50_RATIO_TARGET}x of the bare one hop: {fmt(chain1.p50, 3)} ms vs "
        f"{fmt(bare1.p50, 3)} ms = {ratio:.2f}x, {verdict(ratio <= P50_RATIO_TARGET)} "
        f"(the hop alone, p50 one hop minus p50 no hop: chainsc {fmt(chain1.p50 - chain0.p50, 3)} ms, "
        f"bare {fmt(bare1.p50 - bare0.p50, 3)} ms)",
        f"- throughput at concurrency {CONCURRENCY} ≥ {RPS_TARGET:,} req/s (3x Truss's {TRUSS_RPS_C32}): "
        f"{fmt(w1.rps, 0)} req/s, {verdict(w1.rps >= RPS_TARGET)} (bare one hop: {fmt(wb.rps, 0)} req/s)",
        f"- p99 at concurrency {CONCURRENCY} < {P99_TARGET_MS:.0f} ms: {fmt(w1.p99)} ms, {verdict(w1.p99 < P99_TARGET_MS)}",
        f"- memory flat: largest growth over the second {MEMORY_BATCH:,} requests {fmt(growth, 1)} MiB, "
        f"{verdict(growth < 1.0)} (< 1 MiB counts as flat)",
        f"- no errors under load: {errors}, {verdict(errors == 0)}",
    ]
    return "\n".join(lines) + "\n"


def launch(work: Path, out: Path) -> tuple[list[Server], list[Target], list[Target]]:
    """Start the four servers; the latency targets and the fan-out targets."""
    me = str(Path(__file__).resolve())
    port = {
        name: free_port() for name in ("bare echo", "bare forwarder", "Echo", "Front")
    }
    url = {name: f"http://127.0.0.1:{p}" for name, p in port.items()}
    services = {"CHAINSC_SERVICES": json.dumps({"Echo": url["Echo"]})}
    py = sys.executable

    def gc_file(name: str) -> str:
        return str(work / f"{name}.gc.json")

    bare_echo_s = start(
        "bare echo",
        [py, me, "_echo", str(port["bare echo"]), gc_file("bare echo")],
        url["bare echo"],
        work,
        {},
    )
    bare_fwd_s = start(
        "bare forwarder",
        [
            py,
            me,
            "_forward",
            str(port["bare forwarder"]),
            url["bare echo"],
            gc_file("bare forwarder"),
        ],
        url["bare forwarder"],
        work,
        {},
    )
    echo_s = start(
        "chainsc Echo",
        [
            py,
            me,
            "_wrap",
            gc_file("chainsc Echo"),
            str(out / "echo" / "server.py"),
            "--port",
            str(port["Echo"]),
        ],
        url["Echo"],
        work,
        services,
    )
    front_s = start(
        "chainsc Front",
        [
            py,
            me,
            "_wrap",
            gc_file("chainsc Front"),
            str(out / "front" / "server.py"),
            "--port",
            str(port["Front"]),
        ],
        url["Front"],
        work,
        services,
    )
    servers = [bare_echo_s, bare_fwd_s, echo_s, front_s]
    wait_ready(
        servers,
        {
            "bare echo": "/",
            "bare forwarder": "/",
            "chainsc Echo": "/readyz",
            "chainsc Front": "/readyz",
        },
    )
    targets = [
        Target("bare echo", 0, url["bare echo"] + "/run_remote", BODY, [bare_echo_s]),
        Target("chainsc Echo", 0, url["Echo"] + "/run_remote", BODY, [echo_s]),
        Target(
            "bare forwarder → echo",
            1,
            url["bare forwarder"] + "/run_remote",
            BODY,
            [bare_fwd_s, bare_echo_s],
        ),
        Target(
            "chainsc Front → Echo",
            1,
            url["Front"] + "/run_remote",
            BODY,
            [front_s, echo_s],
        ),
    ]
    fan = [
        Target(
            f"bare forwarder → echo, {FAN_OUT} calls",
            1,
            f"{url['bare forwarder']}/run_remote?n={FAN_OUT}",
            BODY,
            [],
        ),
        Target(
            f"chainsc Front → Echo, {FAN_OUT} calls",
            1,
            url["Front"] + "/run_remote",
            FAN_BODY,
            [],
        ),
    ]
    return servers, targets, fan


def main() -> int:
    """Build, start, measure, stop, report."""
    parser = argparse.ArgumentParser(
        description="By-hand benchmark of the chainsc runtime."
    )
    parser.add_argument(
        "--seconds",
        type=int,
        default=10,
        help="wrk duration per target at concurrency 32",
    )
    parser.add_argument(
        "--seq-seconds",
        type=int,
        default=3,
        help="wrk duration of one sequential round",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="sequential rounds per target"
    )
    parser.add_argument(
        "--fan-seconds", type=int, default=10, help="wrk duration per fan-out target"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    load_before = os.getloadavg()[0]
    servers: list[Server] = []
    with tempfile.TemporaryDirectory(prefix="bench_runtime_") as tmp:
        work = Path(tmp)
        try:
            out = build_chain(work)
            servers, targets, fan_targets = launch(work, out)
            measured_since = time.time()  # GC pauses of start-up and load() excluded
            print("sequential latency...", file=sys.stderr)
            seq = sequential(targets, args.rounds, args.seq_seconds, work)
            print("memory...", file=sys.stderr)
            rss: dict[str, list[float]] = {}
            rss_counts: dict[str, list[int]] = {}
            rss_errors = 0
            for target in targets[2:]:
                values, counts, errors = memory(target, work)
                rss.update(values)
                rss_counts.update(dict.fromkeys(values, counts))
                rss_errors += errors
            c32: dict[str, WrkResult] = {}
            for target in targets:
                print(f"concurrency {CONCURRENCY}: {target.label}...", file=sys.stderr)
                c32[target.label] = run_wrk(target, CONCURRENCY, args.seconds, work)
            print("fan-out...", file=sys.stderr)
            fan = {}
            for target in fan_targets:
                run_wrk(target, 1, 1, work)  # warm-up: the upstream connections
                fan[target.label] = run_wrk(target, 1, args.fan_seconds, work)
        finally:
            stop(servers)
        gc_stats = {
            s.name: gc_summary(json.loads(s.gc_report.read_text()), measured_since)
            for s in servers
            if s.gc_report.exists()
        }
        results = Results(
            seq,
            c32,
            fan,
            rss,
            rss_counts,
            rss_errors,
            gc_stats,
            (load_before, os.getloadavg()[0]),
        )
        text = report(targets, results, args)
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1].startswith("_"):
        raise SystemExit(child_main(sys.argv[1:]))
    raise SystemExit(main())
