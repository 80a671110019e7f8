"""Chains of our own with an engine builder and a TrussChainlet, for the tests of both kinds.

`ENGINE_CHAIN` states the facts of truss's published `examples/baseten_llm/trt_llama.py`
(an `EngineBuilderLLMChainlet` on an H100 with the `hf_access_token` secret, the
`openai-compatible` tag and a v1 TensorRT-LLM build of `meta-llama/Llama-3.1-8B-Instruct`
with its batch size, sequence length and parallelism, and a `ChainletBase` entrypoint
that streams what the engine answers), written anew. `TRUSS_CHAIN` depends on a
TrussChainlet whose Truss directory (`write_truss_chain`) has a CPU-only model that
echoes, so it serves on this machine.
"""

from __future__ import annotations

from pathlib import Path

ENGINE_CHAIN = '''\
"""A chat front end streaming what a TensorRT-LLM engine answers."""

from typing import AsyncIterator

import truss_chains as chains
from truss.base import trt_llm_config, truss_config


class Llama(chains.EngineBuilderLLMChainlet):
    remote_config = chains.RemoteConfig(
        compute=chains.Compute(gpu=truss_config.Accelerator.H100),
        assets=chains.Assets(secret_keys=["hf_access_token"]),
        options=chains.ChainletOptions(metadata={"tags": ["openai-compatible"]}),
    )
    engine_builder_config = trt_llm_config.TRTLLMConfiguration(
        root=trt_llm_config.TRTLLMConfigurationV1(
            build=trt_llm_config.TrussTRTLLMBuildConfiguration(
                base_model=trt_llm_config.TrussTRTLLMModel.DECODER,
                checkpoint_repository=trt_llm_config.CheckpointRepository(
                    source=trt_llm_config.CheckpointSource.HF,
                    repo="meta-llama/Llama-3.1-8B-Instruct",
                ),
                max_batch_size=32,
                max_seq_len=32678,
                num_builder_gpus=1,
                tensor_parallel_count=1,
            ),
            inference_stack="v1",
        )
    )


@chains.mark_entrypoint
class Chat(chains.ChainletBase):
    def __init__(self, llm=chains.depends(Llama)) -> None:
        self._llm = llm

    async def run_remote(self, question: str) -> AsyncIterator[str]:
        llm_input = chains.EngineBuilderLLMInput(
            messages=[{"role": "user", "content": question}], stream=True
        )
        async for text in self._llm.run_remote(llm_input):
            yield text
'''

TRUSS_CHAIN = '''\
"""A Chainlet that calls a Truss directory's model over HTTP, through its handle."""

import httpx

import truss_chains as chains
from truss_chains.remote_chainlet.truss_chainlet import TrussHandle


class Echo(chains.TrussChainlet):
    truss_dir = "echo_truss"


@chains.mark_entrypoint
class Shout(chains.ChainletBase):
    def __init__(self, echo: TrussHandle = chains.depends(Echo, retries=2)) -> None:
        self._echo = echo

    async def run_remote(self, text: str) -> str:
        url, headers = self._echo.http_call_args()
        async with httpx.AsyncClient() as client:
            reply = await client.post(url, json={"text": text}, headers=headers)
        reply.raise_for_status()
        return reply.json()["echo"].upper()
'''

#: The Truss directory of `Echo`: path -> content. A model with `load`, `predict` and a
#: bundled package, files Truss leaves out when it copies the directory, and a data file.
ECHO_TRUSS: dict[str, bytes] = {
    "config.yaml": b"""\
# The echo model: CPU only.
model_name: EchoTruss
model_class_filename: model.py
model_class_name: Model
python_version: py311
bundled_packages_dir: packages
requirements: []
resources:
  cpu: "1"
  memory: 512Mi
  use_gpu: false
secrets:
  echo_token: null
model_metadata:
  example_model_input: {"text": "hi"}
""",
    "model/__init__.py": b"",
    "model/model.py": b"""\
from echo_helpers import prefix


class Model:
    def __init__(self, config=None, data_dir=None, **kwargs):
        self._config = config
        self._data_dir = data_dir
        self._greeting = None

    def load(self):
        self._greeting = (self._data_dir / "greeting.txt").read_text().strip()

    def predict(self, model_input):
        return {"echo": prefix(self._greeting, model_input["text"])}
""",
    "packages/echo_helpers.py": b"def prefix(greeting, text):\n    return f'{greeting} {text}'\n",
    "data/greeting.txt": b"echo:\n",
    # Left out, as truss's fixed ignore patterns leave them out.
    "model/__pycache__/model.cpython-311.pyc": b"\x00compiled",
    ".git/HEAD": b"ref: refs/heads/main\n",
    "server.log": b"old log\n",
    ".DS_Store": b"\x00",
}


def write_engine_chain(directory: Path) -> Path:
    """The engine chain as `chain.py` in `directory` (made if need be)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "chain.py"
    path.write_text(ENGINE_CHAIN, encoding="utf-8")
    return path


def write_truss_chain(directory: Path) -> Path:
    """The TrussChainlet chain as `chain.py` in `directory`, with its Truss directory."""
    for relative, content in ECHO_TRUSS.items():
        target = directory / "echo_truss" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    path = directory / "chain.py"
    path.write_text(TRUSS_CHAIN, encoding="utf-8")
    return path


#: The files of `ECHO_TRUSS` Truss copies (and chainsc carries).
CARRIED_ECHO_FILES = frozenset(
    {
        "config.yaml",
        "model/__init__.py",
        "model/model.py",
        "packages/echo_helpers.py",
        "data/greeting.txt",
    }
)
