"""Text clean-up shared by the triage chain (older module, plain `import truss_chains`)."""

import re
import unicodedata

import truss_chains

SIGNATURE_RE = re.compile(r"\n--\s*\n.*", re.DOTALL)
QUOTED_REPLY_RE = re.compile(r"^>.*$", re.MULTILINE)


def clean_text(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = SIGNATURE_RE.sub("", text)
    text = QUOTED_REPLY_RE.sub("", text)
    return " ".join(text.split())


class Preprocessor(truss_chains.ChainletBase):
    """Strips signatures, quoted replies and odd whitespace from ticket bodies."""

    remote_config = truss_chains.RemoteConfig(
        docker_image=truss_chains.DockerImage(
            base_image=truss_chains.CustomImage(image="python:3.11-slim"),
            # Deprecated spelling (still accepted, logs a warning): `requirements_file`.
            pip_requirements_file=truss_chains.make_abs_path_here("requirements.txt"),
        ),
    )

    def run_remote(self, text: str) -> str:
        return clean_text(text)
