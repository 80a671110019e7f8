"""Chains of our own for the deployment tests (`test_deploy.py`, `test_containers.py`).

`THREE_HOPS`: Entry (async) -> Middle (async) -> Leaf (sync), each reply naming every hop
it went through: Middle and Leaf their host names (which replica answered), Leaf its
secret, Middle its environment variable, so a call proves the wiring of every hop. Entry
calls Middle with the async client (aiohttp), Middle calls Leaf with the sync one (httpx,
in a thread). Leaf logs each request
(`leaf got <text>`) and sleeps `delay` seconds first: a request that stays in flight. The dependencies retry (`retries=3`), as a
chain that runs several replicas of a Chainlet should.

`EVERY_FEATURE`: what the manifests and Dockerfiles map, all at once: GPUs, secrets,
environment variables with characters a Dockerfile must escape, apt packages, build
commands, a display name that is no DNS label (it starts with a digit).
"""

from __future__ import annotations

THREE_HOPS = """\
import asyncio
import os
import socket
import time

import pydantic
import truss_chains as chains


class Reply(pydantic.BaseModel):
    text: str
    hops: list[str]


class Leaf(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        assets=chains.Assets(secret_keys=["leaf_token"]),
        compute=chains.Compute(cpu_count=1, memory="512Mi", predict_concurrency=8),
    )

    def __init__(self, context: chains.DeploymentContext = chains.depends_context()) -> None:
        self._token = context.secrets["leaf_token"]

    def run_remote(self, text: str, delay: float = 0.0) -> Reply:
        print(f"leaf got {text}", flush=True)
        time.sleep(delay)
        return Reply(text=text.upper(), hops=[f"leaf:{socket.gethostname()}:{self._token}"])


class Middle(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        compute=chains.Compute(predict_concurrency=8),
        options=chains.ChainletOptions(env_variables={"MIDDLE_TAG": "mid-1"}),
    )

    def __init__(self, leaf: Leaf = chains.depends(Leaf, retries=3)) -> None:
        self._leaf = leaf

    async def run_remote(self, text: str, delay: float = 0.0) -> Reply:
        reply = await asyncio.to_thread(self._leaf.run_remote, text=text, delay=delay)
        hop = f"middle:{socket.gethostname()}:{os.environ['MIDDLE_TAG']}"
        return Reply(text=reply.text, hops=[hop, *reply.hops])


@chains.mark_entrypoint("Three Hops")
class Entry(chains.ChainletBase):
    remote_config = chains.RemoteConfig(compute=chains.Compute(predict_concurrency=8))

    def __init__(self, middle: Middle = chains.depends(Middle, retries=3)) -> None:
        self._middle = middle

    async def run_remote(self, text: str, delay: float = 0.0) -> Reply:
        reply = await self._middle.run_remote(text=text, delay=delay)
        return Reply(text=reply.text, hops=["entry", *reply.hops])
"""

EVERY_FEATURE = """\
import truss_chains as chains


class Embedder(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        name="9-Lives_Embedder",
        docker_image=chains.DockerImage(
            pip_requirements=["numpy>=1.26"],
            apt_requirements=["libgomp1", "curl"],
        ),
        compute=chains.Compute(cpu_count=4, memory="16Gi", gpu="A10G", gpu_count=2),
        assets=chains.Assets(secret_keys=["hf_access_token", "OpenAIKey"]),
        options=chains.ChainletOptions(
            env_variables={"QUOTED": 'say "$HOME" \\\\ now', "LINES": "one\\ntwo", "PLAIN": "x"},
        ),
    )

    def run_remote(self, text: str) -> list[float]:
        return [float(len(text))]


class Ranker(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        compute=chains.Compute(cpu_count=2, memory="1Gi", gpu="T4"),
        assets=chains.Assets(secret_keys=["hf_access_token"]),
    )

    def run_remote(self, scores: list[float]) -> float:
        return max(scores)


@chains.mark_entrypoint
class Search(chains.ChainletBase):
    def __init__(
        self,
        embedder: Embedder = chains.depends(Embedder),
        ranker: Ranker = chains.depends(Ranker, retries=2),
    ) -> None:
        self._embedder = embedder
        self._ranker = ranker

    async def run_remote(self, query: str) -> float:
        return await self._ranker.run_remote(scores=await self._embedder.run_remote(text=query))
"""
