"""A symbolic link loop is an error wherever the build would follow it."""

import truss_chains as chains

import helpers  # E: CSC012


class Data(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        docker_image=chains.DockerImage(
            data_dir=chains.make_abs_path_here("data"),  # E: CSC012
        )
    )

    def run_remote(self, text: str) -> str:
        return text


@chains.mark_entrypoint
class Entry(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        docker_image=chains.DockerImage(
            requirements_file=chains.make_abs_path_here("requirements.txt"),  # E: CSC012
        )
    )

    def __init__(self, data: Data = chains.depends(Data)) -> None:
        self._data = data

    def run_remote(self, text: str) -> str:
        return text
