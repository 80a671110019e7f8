import asyncio
import logging
import time

import data_types
import helpers
import httpx

import truss_chains as chains

IMAGE = chains.DockerImage(
    apt_requirements=["ffmpeg"],
    pip_requirements=["numpy", "httpx"],
)

# Deploy `classifier_chainlet.py` first and paste its predict URL here.
CLASSIFIER_PREDICT_URL = "https://model-abc123.api.baseten.co/production/predict"

if not CLASSIFIER_PREDICT_URL:
    raise ValueError("Please insert the predict URL of the classifier.")


class DeployedClassifier(chains.StubBase):
    """The separately deployed classifier, used like a third-party service."""

    async def run_remote(
        self, classifier_input: data_types.ClassifierInput
    ) -> data_types.ClassifierResult:
        return await self.predict_async(classifier_input, data_types.ClassifierResult)


class WindowWorker(chains.ChainletBase):
    """Downloads and labels one coarse window of the clip."""

    _cpu_count = 4
    remote_config = chains.RemoteConfig(
        docker_image=IMAGE,
        compute=chains.Compute(
            cpu_count=_cpu_count, memory="8G", predict_concurrency=_cpu_count * 2
        ),
    )
    _classifier: DeployedClassifier

    def __init__(
        self, context: chains.DeploymentContext = chains.depends_context()
    ) -> None:
        self._classifier = DeployedClassifier.from_url(
            CLASSIFIER_PREDICT_URL, context, options=chains.RPCOptions(retries=2)
        )

    async def run_remote(
        self,
        clip_url: str,
        params: data_types.AnalyzeParams,
        window: data_types.WindowInfo,
    ) -> data_types.LabelList:
        started = time.time()
        frames = helpers.encode_frames(clip_url.encode())
        result = await self._classifier.run_remote(
            data_types.ClassifierInput(frames_b64=frames)
        )
        labels = list(helpers.to_labels(result, window))
        return data_types.LabelList(
            labels=labels,
            window_info=window.model_copy(update={"processing_sec": time.time() - started}),
        )


@chains.mark_entrypoint
class AnalyzeClip(chains.ChainletBase):
    """Labels one clip end to end."""

    remote_config = chains.RemoteConfig(
        docker_image=IMAGE,
        compute=chains.Compute(cpu_count=4, memory="8G", predict_concurrency=64),
        assets=chains.Assets(secret_keys=["dummy_webhook_key"]),
    )
    _context: chains.DeploymentContext
    _window_worker: WindowWorker
    _http: httpx.AsyncClient

    def __init__(
        self,
        window_worker: WindowWorker = chains.depends(WindowWorker, retries=3),
        context: chains.DeploymentContext = chains.depends_context(),
    ) -> None:
        self._context = context
        self._window_worker = window_worker
        self._http = httpx.AsyncClient()
        logging.getLogger("httpx").setLevel(logging.WARNING)

    async def run_remote(
        self, clip_url: str, params: data_types.AnalyzeParams
    ) -> data_types.AnalyzeOutput:
        started = time.time()
        await helpers.check_range_requests(self._http, clip_url)
        windows = helpers.split_windows(600.0, params.window_sec, params.window_overlap_sec)
        tasks = [
            asyncio.ensure_future(self._window_worker.run_remote(clip_url, params, window))
            for window in windows
        ]
        labels = [label for part in await helpers.gather(tasks) for label in part.labels]
        return data_types.AnalyzeOutput(
            labels=labels, clip_duration_sec=600.0, processing_sec=time.time() - started
        )


if __name__ == "__main__":
    import os

    with chains.run_local(secrets={"baseten_chain_api_key": os.environ["BASETEN_API_KEY"]}):
        job = AnalyzeClip()
        print(asyncio.run(job.run_remote("http://example.com/clip.mp4", data_types.AnalyzeParams())))
