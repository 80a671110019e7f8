"""Files the code names next to itself are carried only when they resolve inside the chain root."""

import pathlib

import truss_chains as chains

HERE = pathlib.Path(__file__).parent
SYSTEM_PROMPT = (HERE / "system_prompt.txt").read_text()
# An absolute path or one out of the chain's tree names no data file: never read, no error.
HOSTS = pathlib.Path("/etc/hosts")


class Reader(chains.ChainletBase):
    def __init__(self) -> None:
        self._prompts = HERE / "prompts"  # E: CSC011
        self._vocabulary = HERE / "vocabulary.txt"  # E: CSC012
        self._hosts = HOSTS
        self._parent = HERE / "../README.md"

    def run_remote(self, text: str) -> str:
        return text
