"""Every line of a requirements file must be a requirement or a pip option (see requirements.txt)."""

import truss_chains as chains


class Reader(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        docker_image=chains.DockerImage(requirements_file=chains.make_abs_path_here("requirements.txt"))
    )

    def run_remote(self, text: str) -> str:
        return text
