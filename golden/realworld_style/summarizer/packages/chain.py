"""Support-ticket triage chain, written the way many production chain files look.

Cleans the ticket body, summarizes it (on GPU or CPU, chosen by a module flag) and
routes it to a queue using keyword rules.
"""

try:
    import chainsc_runtime as chains
except ImportError:  # pragma: no cover
    chains = None

from chainsc_runtime import truss_config

SUMMARIZE_ON_GPU = False


LIGHT_IMAGE = chains.DockerImage(
    base_image=chains.BasetenImage.PY311, pip_requirements=["pydantic>=2.6"]
)


if SUMMARIZE_ON_GPU:

    class Summarizer(chains.ChainletBase):
        """Abstractive summary with a small seq2seq model."""

        remote_config = chains.RemoteConfig(
            docker_image=chains.DockerImage(pip_requirements=["transformers==4.46.3"]),
            compute=chains.Compute(gpu="T4"),
            assets=chains.Assets(
                cached=[truss_config.ModelRepo(repo_id="google/flan-t5-small", use_volume=False)]
            ),
        )

        def run_remote(self, text: str, max_words: int = 30) -> str:
            from transformers import pipeline

            return pipeline("summarization", model="google/flan-t5-small")(text)[0]["summary_text"]

else:

    class Summarizer(chains.ChainletBase):
        """Extractive fallback: first sentence, truncated."""

        remote_config = chains.RemoteConfig(
            docker_image=LIGHT_IMAGE, compute=chains.Compute(cpu_count=1, memory="1Gi")
        )

        def run_remote(self, text: str, max_words: int = 30) -> str:
            first_sentence = text.split(". ")[0]
            return " ".join(first_sentence.split()[:max_words])
