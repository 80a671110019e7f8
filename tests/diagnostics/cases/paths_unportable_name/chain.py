"""Every file a package carries must have a name the package can hold (UTF-8, no `\\`)."""

import truss_chains as chains


class Reader(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        docker_image=chains.DockerImage(data_dir=chains.make_abs_path_here("data"))  # E: CSC013
    )

    def run_remote(self, text: str) -> str:
        return text
