import asyncio
from typing import Protocol

import truss_chains as chains
from truss.base import truss_config

HAIKU_HF_MODEL = "example-org/tiny-haiku-instruct"


class HaikuLLM(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        docker_image=chains.DockerImage(
            pip_requirements=["transformers", "torch==2.2.0", "accelerate", "tokenizers"]
        ),
        compute=chains.Compute(cpu_count=2, gpu="A10G"),
        assets=chains.Assets(
            cached=[
                truss_config.ModelRepo(
                    repo_id=HAIKU_HF_MODEL,
                    use_volume=False,
                    allow_patterns=["*.json", "*.safetensors"],
                )
            ],
            secret_keys=["hf_access_token"],
        ),
    )

    def __init__(self, context: chains.DeploymentContext = chains.depends_context()) -> None:
        import torch
        import transformers

        self._model = transformers.AutoModelForCausalLM.from_pretrained(
            HAIKU_HF_MODEL, torch_dtype=torch.float16, token=context.secrets["hf_access_token"]
        )
        self._tokenizer = transformers.AutoTokenizer.from_pretrained(
            HAIKU_HF_MODEL, token=context.secrets["hf_access_token"]
        )

    async def run_remote(self, topic: str) -> str:
        import torch

        prompt = f"Write a haiku about {topic}."
        input_ids = self._tokenizer(prompt, return_tensors="pt").input_ids
        with torch.no_grad():
            output = self._model.generate(inputs=input_ids, max_new_tokens=40)
        return self._tokenizer.decode(output[0]).replace(prompt, "").strip()


class HaikuP(Protocol):
    async def run_remote(self, topic: str) -> str: ...


@chains.mark_entrypoint
class HaikuBook(chains.ChainletBase):
    def __init__(self, llm: HaikuP = chains.depends(HaikuLLM)) -> None:
        self._llm = llm

    async def run_remote(self, topics: list[str]) -> dict[str, str]:
        haikus = await asyncio.gather(*(self._llm.run_remote(topic) for topic in topics))
        return dict(zip(topics, haikus))


if __name__ == "__main__":

    class FakeHaikuLLM:
        async def run_remote(self, topic: str) -> str:
            return topic[::-1]

    with chains.run_local():
        book = HaikuBook(llm=FakeHaikuLLM())
        print(asyncio.run(book.run_remote(["rain", "moss"])))
