"""truss: public_types.py::DockerImage.migrate_fields. `base_image` as a plain string."""
# parity: truss rejects
# parity: extra

import truss_chains as chains


class Slim(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        docker_image=chains.DockerImage(base_image="python:3.11-slim")  # E@10:52: CSC403
    )

    def run_remote(self) -> str:
        return "slim"
