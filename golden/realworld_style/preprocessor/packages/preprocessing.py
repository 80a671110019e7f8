"""Text clean-up shared by the triage chain (older module, plain `import truss_chains`)."""

import re
import unicodedata

import chainsc_runtime as truss_chains

SIGNATURE_RE = re.compile(r"\n--\s*\n.*", re.DOTALL)
QUOTED_REPLY_RE = re.compile(r"^>.*$", re.MULTILINE)


def clean_text(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = SIGNATURE_RE.sub("", text)
    text = QUOTED_REPLY_RE.sub("", text)
    return " ".join(text.split())


class Preprocessor(truss_chains.ChainletBase):
    """Strips signatures, quoted replies and odd whitespace from ticket bodies."""

    def run_remote(self, text: str) -> str:
        return clean_text(text)
