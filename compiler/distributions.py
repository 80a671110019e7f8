"""Which distribution an imported module comes from, and what is installed anyway.

Stage: shared by the requirements check (`chainsc.requirements_check`) and the
back end (`chainsc.requirements`). Pure data and lookups; imports only
the standard library and `packaging`.

chainsc never imports user code nor reads installed packages, so the import
`cv2` is mapped to its distribution by name: by default the PEP 503
normalisation of the import's first name (`sentence_transformers` ->
`sentence-transformers`), or, where the two differ, the table below
(`cv2` -> `opencv-python`). Three sets of distributions are installed whatever
the user declares:

- the runtime's (`chainsc_runtime.REQUIREMENTS`) and what they pull in;
- on Baseten, Truss's server image (truss's `templates/server/requirements.txt`)
  and, for a chain deployed with Truss Chains, the `truss` package and its
  requirements (Truss Chains adds `truss` to every Chainlet's requirements).
"""

from __future__ import annotations

import functools
import re

from packaging.utils import canonicalize_name

#: Import paths whose distribution is not the import's own name, the one to
#: suggest first. A dotted key matches that module and its submodules (longest
#: key wins), for namespace packages (`google.*`) and renamed subpackages.
#: Names checked against the distributions' wheels (their top-level modules).
IMPORT_DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "absl": ("absl-py",),
    "ahocorasick": ("pyahocorasick",),
    "argon2": ("argon2-cffi",),
    "attr": ("attrs",),
    "awq": ("autoawq",),
    "Bio": ("biopython",),
    "bs4": ("beautifulsoup4",),
    "cpuinfo": ("py-cpuinfo",),
    "Crypto": ("pycryptodome", "pycrypto"),
    "Cryptodome": ("pycryptodomex",),
    "cupy": ("cupy-cuda12x", "cupy-cuda11x", "cupy"),
    "cv2": (
        "opencv-python",
        "opencv-python-headless",
        "opencv-contrib-python",
        "opencv-contrib-python-headless",
    ),
    "dateutil": ("python-dateutil",),
    "discord": ("discord.py",),
    "dns": ("dnspython",),
    "docx": ("python-docx",),
    "dotenv": ("python-dotenv",),
    "faiss": ("faiss-cpu", "faiss-gpu", "faiss-gpu-cu12"),
    "ffmpeg": ("ffmpeg-python",),
    "fitz": ("PyMuPDF",),
    "fpdf": ("fpdf2", "fpdf"),
    "gi": ("PyGObject",),
    "git": ("GitPython",),
    "github": ("PyGithub",),
    "google.api_core": ("google-api-core",),
    "google.auth": ("google-auth",),
    "google.cloud.aiplatform": ("google-cloud-aiplatform",),
    "google.cloud.bigquery": ("google-cloud-bigquery",),
    "google.cloud.pubsub": ("google-cloud-pubsub",),
    "google.cloud.storage": ("google-cloud-storage",),
    "google.genai": ("google-genai",),
    "google.generativeai": ("google-generativeai",),
    "google.protobuf": ("protobuf",),
    "googleapiclient": ("google-api-python-client",),
    "graphql": ("graphql-core",),
    "grpc": ("grpcio",),
    "grpc_tools": ("grpcio-tools",),
    "jose": ("python-jose",),
    "jwt": ("PyJWT",),
    "kafka": ("kafka-python",),
    "llama_cpp": ("llama-cpp-python",),
    "magic": ("python-magic",),
    "markdown_it": ("markdown-it-py",),
    "mpl_toolkits": ("matplotlib",),
    "multipart": ("python-multipart",),
    "MySQLdb": ("mysqlclient",),
    "mysql.connector": ("mysql-connector-python",),
    "nacl": ("PyNaCl",),
    "nats": ("nats-py",),
    "onnxruntime": ("onnxruntime", "onnxruntime-gpu"),
    "open_clip": ("open-clip-torch",),
    "OpenGL": ("PyOpenGL",),
    "OpenSSL": ("pyOpenSSL",),
    "opentelemetry": ("opentelemetry-api",),
    "opentelemetry.sdk": ("opentelemetry-sdk",),
    "paho": ("paho-mqtt",),
    "pdfminer": ("pdfminer.six",),
    "PIL": ("Pillow", "pillow-simd"),
    "pkg_resources": ("setuptools",),
    "pptx": ("python-pptx",),
    "psycopg2": ("psycopg2-binary", "psycopg2"),
    "pylab": ("matplotlib",),
    "pynvml": ("nvidia-ml-py", "pynvml"),
    "pythonjsonlogger": ("python-json-logger",),
    "pywt": ("PyWavelets",),
    "rpds": ("rpds-py",),
    "ruamel.yaml": ("ruamel.yaml",),
    "serial": ("pyserial",),
    "skimage": ("scikit-image",),
    "sklearn": ("scikit-learn",),
    "slugify": ("python-slugify",),
    "snappy": ("python-snappy",),
    "socks": ("PySocks",),
    "speech_recognition": ("SpeechRecognition",),
    "Stemmer": ("PyStemmer",),
    "telegram": ("python-telegram-bot",),
    "tensorflow": (
        "tensorflow",
        "tensorflow-cpu",
        "tensorflow-gpu",
        "tensorflow-macos",
        "tensorflow-intel",
        "tf-nightly",
    ),
    "umap": ("umap-learn",),
    "upath": ("universal-pathlib",),
    "usb": ("pyusb",),
    "vertexai": ("google-cloud-aiplatform",),
    "websocket": ("websocket-client",),
    "whisper": ("openai-whisper",),
    "win32api": ("pywin32",),
    "win32con": ("pywin32",),
    "wx": ("wxPython",),
    "yaml": ("PyYAML",),
    "z3": ("z3-solver",),
    "zmq": ("pyzmq",),
}

#: Distributions the runtime's requirements install (`chainsc_runtime.REQUIREMENTS`:
#: aiohttp, httpx, msgpack, pydantic) and their own requirements, normalised.
#: `tests/unit/test_distributions.py` checks each against the installed metadata.
RUNTIME_DISTRIBUTIONS: frozenset[str] = frozenset(
    {
        "aiohappyeyeballs",
        "aiohttp",
        "aiosignal",
        "annotated-types",
        "anyio",
        "attrs",
        "certifi",
        "frozenlist",
        "h11",
        "httpcore",
        "httpx",
        "idna",
        "msgpack",
        "multidict",
        "propcache",
        "pydantic",
        "pydantic-core",
        "typing-extensions",
        "typing-inspection",
        "yarl",
    }
)

#: The truss release whose server image and requirements `TRUSS_PROVIDED` describes.
TRUSS_VERSION = "0.18.36"

#: Truss's server image: truss 0.18.36's `templates/server/requirements.txt`, as written
#: (the index line left out). On Baseten these are installed next to every model.
TRUSS_SERVER_REQUIREMENTS: tuple[str, ...] = (
    "aiocontextvars==0.2.2",
    "aiofiles>=24.1.0",
    "aiohttp>=3.10.11",
    "certifi>=2026.10.19",
    "cython==3.0.5",
    "fastapi>=0.114,<0.125.0",
    "joblib>=1.2.0",
    "loguru>=0.7.2",
    "msgpack-numpy==0.4.8",
    "msgpack==1.1.0",
    "numpy>=1.23.5,<2.0",
    "opentelemetry-api>=1.25.0",
    "opentelemetry-exporter-otlp>=1.25.0",
    "opentelemetry-sdk>=1.25.0",
    "prometheus-client>=0.21.1",
    "psutil>=5.9.4",
    "python-json-logger>=2.0.2",
    "pyyaml>=6.0.0",
    "requests>=2.31.0",
    "truss-transfer>=0.0.40,<0.0.45",
    "uvicorn>=0.24.0",
    "uvloop>=0.19.0",
    "websockets>=10.0",
)

#: The `truss` distribution (Truss Chains adds `truss==<its version>` to every
#: Chainlet's requirements) and truss 0.18.36's own requirements, as its metadata
#: spells them.
TRUSS_PACKAGE_REQUIREMENTS: tuple[str, ...] = (
    "truss",
    "aiofiles<25,>=24.1.0",
    "blake3<2,>=1.0.4",
    "boto3<2,>=1.34.85",
    "certifi>=2026.10.19",
    "click<9,>=8.0.3",
    "google-cloud-storage>=2.10.0",
    "httpx-ws<0.8,>=0.7.1",
    "httpx>=0.24.1",
    "huggingface-hub>=0.25.0",
    "inquirerpy<0.4,>=0.3.4",
    "jinja2<4,>=3.1.2",
    "keyring<26,>=25",
    "libcst>=1.1.2",
    "loguru>=0.7.2",
    "packaging>=20.9",
    "pathspec>=0.9.0",
    "psutil>=5.9.4",
    "pydantic>=2.10.0",
    "python-json-logger>=2.0.2",
    "python-on-whales>=0.68.0",
    "pyyaml>=6.0",
    "requests>=2.31",
    "rich-click<2,>=1.8.9",
    "rich<14,>=13.4.2",
    "ruff>=0.4.8",
    "tenacity>=8.0.1",
    "tomlkit>=0.13.2",
    "truss-transfer<0.0.45,>=0.0.42",
    "watchfiles<0.20,>=0.19.0",
)

#: What those pull in that a chain commonly imports (added bare: the version is
#: whatever the requirements above resolve to). `starlette` comes with fastapi;
#: the others with truss's requirements (checked against truss's metadata).
TRUSS_TRANSITIVE_DISTRIBUTIONS: tuple[str, ...] = (
    "botocore",
    "charset-normalizer",
    "cryptography",
    "filelock",
    "fsspec",
    "google-api-core",
    "google-auth",
    "markdown-it-py",
    "markupsafe",
    "protobuf",
    "pygments",
    "python-dateutil",
    "s3transfer",
    "six",
    "starlette",
    "tqdm",
    "urllib3",
)

_SPECIFIER_START = re.compile(r"[<>=!~;\[@ ]")


def _name_of(line: str) -> str:
    return canonicalize_name(_SPECIFIER_START.split(line, maxsplit=1)[0])


def _truss_provided() -> dict[str, str]:
    provided: dict[str, str] = {}
    for line in (
        *TRUSS_SERVER_REQUIREMENTS,
        *TRUSS_PACKAGE_REQUIREMENTS,
        *TRUSS_TRANSITIVE_DISTRIBUTIONS,
    ):
        provided.setdefault(_name_of(line), line)
    return provided


#: Normalised distribution -> the requirement line chainsc adds for it: Truss's own
#: (server image first, then the truss package's), so a package gets the version
#: range Baseten would install.
TRUSS_PROVIDED: dict[str, str] = _truss_provided()


@functools.lru_cache(maxsize=4096)
def distributions_of(module: str) -> tuple[str, ...]:
    """The distributions that may provide `module` (a dotted import path), best first."""
    parts = module.split(".")
    for cut in range(len(parts), 0, -1):
        found = IMPORT_DISTRIBUTIONS.get(".".join(parts[:cut]))
        if found is not None:
            return found
    return (parts[0].replace("_", "-"),)


@functools.lru_cache(maxsize=4096)
def normalized_distributions_of(module: str) -> tuple[str, ...]:
    """`distributions_of`, PEP 503 normalised."""
    return tuple(canonicalize_name(name) for name in distributions_of(module))
