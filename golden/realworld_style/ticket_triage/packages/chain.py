"""Support-ticket triage chain, written the way many production chain files look.

Cleans the ticket body, summarizes it (on GPU or CPU, chosen by a module flag) and
routes it to a queue using keyword rules.
"""

import logging
import os
from pathlib import Path

try:
    import chainsc_runtime as chains
except ImportError:  # pragma: no cover
    chains = None

import pydantic
from chainsc_runtime import truss_config

from preprocessing import Preprocessor

logger = logging.getLogger(__name__)

HERE = Path(__file__).parent
PROMPT_FILE = HERE / "prompts" / "triage.txt"
SYSTEM_PROMPT = PROMPT_FILE.read_text().strip()
SUMMARIZE_ON_GPU = False
ROUTING_RULES = {
    "billing": ("invoice", "refund", "charge", "payment"),
    "auth": ("password", "login", "2fa", "locked"),
    "outage": ("down", "error", "500", "timeout"),
}


class Ticket(pydantic.BaseModel):
    ticket_id: int
    subject: str
    body: str
    customer_tier: str = "free"


class TriageResult(pydantic.BaseModel):
    ticket_id: int
    queue: str
    priority: int
    summary: str


def queue_names(*tiers: str) -> dict[str, str]:
    """Queue per customer tier; called in a class body, like many real chains do."""
    return {tier: f"{tier}-support" for tier in tiers}


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


@chains.mark_entrypoint
class TicketTriage(chains.ChainletBase):
    queues = queue_names("free", "pro", "enterprise")

    def __init__(
        self,
        preprocessor=chains.depends(Preprocessor),
        summarizer=chains.depends(Summarizer, retries=3),
        context=chains.depends_context(),
    ) -> None:
        self._preprocessor = preprocessor
        self._summarizer = summarizer
        self._has_zendesk = "zendesk_api_token" in context.secrets
        logger.info("TicketTriage ready (prompt: %d chars)", len(SYSTEM_PROMPT))

    def run_remote(self, ticket: Ticket) -> TriageResult:
        body = self._preprocessor.run_remote(ticket.body)
        text = f"{ticket.subject}. {body}".lower()
        queue = next(
            (name for name, words in ROUTING_RULES.items() if any(w in text for w in words)),
            "general",
        )
        priority = 1 if queue == "outage" or ticket.customer_tier == "enterprise" else 3
        return TriageResult(
            ticket_id=ticket.ticket_id,
            queue=queue,
            priority=priority,
            summary=self._summarizer.run_remote(body),
        )


if __name__ == "__main__":
    with chains.run_local(secrets={"zendesk_api_token": os.environ.get("ZENDESK_API_TOKEN", "")}):
        triage = TicketTriage()
        result = triage.run_remote(
            Ticket(
                ticket_id=4711,
                subject="Cannot login",
                body="My password reset link gives a 500 error. Please help!\n--\nJane",
            )
        )
    print(result.model_dump_json(indent=2))
