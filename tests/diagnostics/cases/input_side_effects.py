"""Top-level code that runs on import is not part of any package."""

import logging
import os

import truss_chains as chains

logging.basicConfig(level=logging.INFO)  # W: CSC003
print("loading chain")  # W: CSC003
os.environ.setdefault("HF_HOME", "/cache")  # W: CSC003

MODELS = {}
for name in ("small", "large"):  # W: CSC003
    MODELS[name] = f"org/{name}"

with open("banner.txt") as handle:  # W: CSC003
    BANNER = handle.read()


class Echo(chains.ChainletBase):
    def run_remote(self, text: str) -> str:
        return text


if __name__ == "__main__":
    print(Echo)
