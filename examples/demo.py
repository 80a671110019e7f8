"""The README's main job, end to end: build a bundled example, serve it, call it, stop it.

Run with `make demo` (or `python examples/demo.py` inside the project's venv).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHAIN = HERE / "text_pipeline" / "chain.py"
OUT = HERE.parent / "demo-out"
PORT = 8765
REQUEST = {
    "documents": [
        {
            "doc_id": "chains",
            "text": "Chains compose models into pipelines. Each Chainlet is deployed as its own service. "
            "chainsc compiles them without running your code.",
        }
    ]
}


def chainsc(*args: str) -> None:
    print("$ chainsc " + " ".join(args), flush=True)
    subprocess.run([sys.executable, "-m", "compiler", *args], check=True)


def main() -> int:
    chainsc("check", str(CHAIN))
    chainsc("graph", str(CHAIN))
    chainsc("build", str(CHAIN), "-o", str(OUT))
    chainsc("build", str(CHAIN), "-o", str(OUT), "--check")
    print(f"$ chainsc run {OUT} --port {PORT}", flush=True)
    with subprocess.Popen([sys.executable, "-m", "compiler", "run", str(OUT), "--port", str(PORT)]) as server:
        try:
            deadline = time.monotonic() + 120
            while not _ready() and time.monotonic() < deadline:
                if server.poll() is not None:
                    return 1
                time.sleep(0.25)
            chainsc("call", "--url", f"http://127.0.0.1:{PORT}", "--json", json.dumps(REQUEST))
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
    return 0


def _ready() -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/readyz", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


if __name__ == "__main__":
    raise SystemExit(main())
