import base64
import tempfile

import data_types

import truss_chains as chains
from truss.base import truss_config


def decode_to_file(frames_b64, path):
    with open(path, "wb") as handle:
        handle.write(base64.b64decode(frames_b64))
    return path


@chains.mark_entrypoint
class FrameClassifier(chains.ChainletBase):
    remote_config = chains.RemoteConfig(
        docker_image=chains.DockerImage(
            base_image=chains.CustomImage(image="baseten/truss-server-base:3.11-gpu-v0.9.0"),
            apt_requirements=["ffmpeg"],
            pip_requirements=["torch==2.2.0", "open-clip-torch==2.24.0"],
        ),
        compute=chains.Compute(gpu="T4", cpu_count=2, memory="16Gi"),
        assets=chains.Assets(
            external_data=[
                truss_config.ExternalDataItem(
                    local_data_path="weights/clip.pt",
                    url="https://example.com/weights/clip.pt",
                )
            ]
        ),
    )

    def __init__(self, context: chains.DeploymentContext = chains.depends_context()) -> None:
        import open_clip
        import torch

        self._data_dir = context.data_dir
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        if self._data_dir is None:
            raise ValueError("data_dir is required")
        self.model = open_clip.load_checkpoint(self._data_dir / "weights" / "clip.pt")

    async def run_remote(
        self, classifier_input: data_types.ClassifierInput
    ) -> data_types.ClassifierResult:
        with tempfile.NamedTemporaryFile() as handle:
            decode_to_file(classifier_input.frames_b64, handle.name)
            scores = self.model(handle.name)
        labels = [
            data_types.ClassifierLabel(start_sec=0.0, end_sec=1.0, label=str(name))
            for name in scores
        ]
        return data_types.ClassifierResult(
            labels=labels, category="scene", confidence=0.5 if labels else None
        )
