"""`pip_requirements` entries are one requirement each: no line breaks, no pip options."""

import truss_chains as chains


class Reader(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        docker_image=chains.DockerImage(
            pip_requirements=[
                "numpy>=1.26",
                "torch==2.1.0 ; python_version > '3.8'",
                "git+https://github.com/org/tokenizer.git@0123abc",
                "tokenizer @ https://example.com/tokenizer-1.0.tar.gz",
                "pydantic\n--index-url https://example.com/simple",  # E: CSC413
                "--extra-index-url https://example.com/simple",  # E: CSC413
                "text tools",  # E: CSC413
                "requests \\",  # E: CSC413
            ]
        )
    )

    def run_remote(self, text: str) -> str:
        return text
