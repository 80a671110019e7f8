"""A `uv.lock` that lacks what the package needs: the package uses a requirements.txt instead."""

import truss_chains as chains


@chains.mark_entrypoint
class Embedder(chains.ChainletBase):  # W: CSC462
    remote_config = chains.RemoteConfig(
        docker_image=chains.DockerImage(requirements_file=chains.make_abs_path_here("uv.lock"))
    )

    def run_remote(self, text: str) -> list[float]:
        import numpy  # W: CSC461

        return [float(x) for x in numpy.ones(3)]
