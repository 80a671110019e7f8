"""Support-ticket triage chain, written the way many production chain files look.

Cleans the ticket body, summarizes it (on GPU or CPU, chosen by a module flag) and
routes it to a queue using keyword rules.
"""

try:
    import chainsc_runtime as chains
except ImportError:  # pragma: no cover
    chains = None

SUMMARIZE_ON_GPU = False


if SUMMARIZE_ON_GPU:

    class Summarizer(chains.ChainletBase):
        """Abstractive summary with a small seq2seq model."""

        def run_remote(self, text: str, max_words: int = 30) -> str:
            from transformers import pipeline

            return pipeline("summarization", model="google/flan-t5-small")(text)[0]["summary_text"]

else:

    class Summarizer(chains.ChainletBase):
        """Extractive fallback: first sentence, truncated."""

        def run_remote(self, text: str, max_words: int = 30) -> str:
            first_sentence = text.split(". ")[0]
            return " ".join(first_sentence.split()[:max_words])
