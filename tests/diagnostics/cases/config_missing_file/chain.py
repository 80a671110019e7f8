"""`make_abs_path_here` paths are relative to the file and must exist."""

import truss_chains as chains


@chains.mark_entrypoint
class Retriever(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        docker_image=chains.DockerImage(
            requirements_file=chains.make_abs_path_here("requirement.txt"),  # E: CSC412
            data_dir=chains.make_abs_path_here("data"),
        ),
    )

    def run_remote(self, query: str) -> list[str]:
        return [query]
