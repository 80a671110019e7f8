"""Baseten's service on 127.0.0.1, as truss 0.18.36's chain upload speaks to it.

The only fake in the push tests, and it stands for Baseten, not for chainsc: the real
`chainsc push` runs in a subprocess with the real truss, configured as a user configures
it, and everything truss sends arrives here over HTTP:

- Baseten's GraphQL API at `<remote_url>/graphql/` (truss derives the URL from the
  `remote_url` of the remote in `~/.trussrc`): the queries and mutations of
  `push_chain_atomic` (`models`, `model_s3_upload_credentials`, `truss_validation`,
  `chains`, `deploy_chain_atomic`) and of the status polls (`chain_deployment`);
- the S3 bucket truss uploads each Truss archive to with boto3, reached through
  `endpoint_url` in `~/.aws/config` (the standard AWS configuration; truss clears
  `AWS_*` variables for the upload, not the config file).

`environment(home)` writes both files and returns the variables the subprocess needs;
HTTP clients are also pointed at a closed loopback proxy, so any request for anywhere
but 127.0.0.1 fails instead of leaving the machine.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

API_KEY = "fake-baseten-api-key"
BUCKET = "baseten-fake-uploads"
REMOTE_NAME = "fake"
#: A loopback port nothing listens on: the proxy every non-loopback request is sent to.
DEAD_PROXY = "http://127.0.0.1:9"


@dataclass
class Call:
    """One GraphQL request truss sent."""

    query: str
    variables: dict[str, Any]
    authorization: str

    @property
    def operation(self) -> str:
        """The first field the query asks for (`deploy_chain_atomic`, `models`, ...)."""
        match = re.search(r"\{\s*(\w+)", self.query)
        return match.group(1) if match else ""


@dataclass
class Chainlet:
    """One Chainlet of a `deploy_chain_atomic` mutation, in the order truss sent it."""

    name: str
    model_name: str
    s3_key: str
    config: dict[str, Any]


@dataclass
class Deployment:
    """A `deploy_chain_atomic` mutation, read back."""

    arguments: dict[str, str]
    chainlets: list[Chainlet]


@dataclass
class FakeBaseten:
    """The service: records every request, answers as Baseten would for a good push."""

    #: Chains that already exist, by name (a push to one passes its id, and an environment).
    existing_chains: dict[str, str] = field(default_factory=dict)
    #: The status each poll reports for every Chainlet, in turn (the last one repeats).
    statuses: list[str] = field(default_factory=lambda: ["BUILDING", "ACTIVE"])
    calls: list[Call] = field(default_factory=list)
    #: S3 key -> the bytes uploaded.
    uploads: dict[str, bytes] = field(default_factory=dict)
    #: Requests that were neither: an unknown query, a wrong key, another path.
    unexpected: list[str] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _polls: int = 0

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeBaseten:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length", 0)))

            def _reply(self, status: int, body: bytes, **headers: str) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name.replace("_", "-"), value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                body = self._body()
                if self.path != "/graphql/":
                    fake.unexpected.append(f"POST {self.path}")
                    self._reply(404, b"")
                    return
                authorization = self.headers.get("Authorization", "")
                if authorization != f"Api-Key {API_KEY}":
                    fake.unexpected.append(f"authorization {authorization!r}")
                    self._reply(401, b'{"detail": "bad key"}')
                    return
                payload = json.loads(body)
                call = Call(
                    payload["query"], payload.get("variables") or {}, authorization
                )
                with fake._lock:
                    fake.calls.append(call)
                    answer = fake.answer(call)
                self._reply(
                    200, json.dumps(answer).encode(), Content_Type="application/json"
                )

            def do_PUT(self) -> None:
                body = self._body()
                bucket, _, key = self.path.lstrip("/").partition("/")
                if bucket != BUCKET or not key:
                    fake.unexpected.append(f"PUT {self.path}")
                    self._reply(404, b"")
                    return
                with fake._lock:
                    fake.uploads[key] = body
                self._reply(
                    200, b"", ETag=f'"{hashlib.md5(body).hexdigest()}"'
                )  # S3's ETag

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def answer(self, call: Call) -> dict[str, Any]:
        """What Baseten answers to `call` (the fields truss reads)."""
        operation = call.operation
        if operation == "model_s3_upload_credentials":
            return {
                "data": {
                    operation: {
                        "s3_bucket": BUCKET,
                        "s3_key": f"models/upload-{len(self.calls)}.tgz",
                        "aws_access_key_id": "AKIAFAKE",
                        "aws_secret_access_key": "fake-secret",
                        "aws_session_token": "fake-token",
                    }
                }
            }
        if operation == "truss_validation":
            return {"data": {operation: {"success": True, "details": "{}"}}}
        if operation == "models":
            return {"data": {"models": []}}
        if operation == "chains":
            chains = [
                {"id": chain_id, "name": name, "team": {"id": "team-1", "name": "Team"}}
                for name, chain_id in self.existing_chains.items()
            ]
            return {"data": {"chains": chains}}
        if operation == "deploy_chain_atomic":
            return {
                "data": {
                    operation: {
                        "chain_deployment": {
                            "id": "deployment-1",
                            "chain": {
                                "id": "chain-1",
                                "hostname": "https://chain-1.api.baseten.fake",
                            },
                        }
                    }
                }
            }
        if operation == "chain_deployment":
            status = self.statuses[min(self._polls, len(self.statuses) - 1)]
            self._polls += 1
            deployed = self.deployments()[-1].chainlets
            return {
                "data": {
                    operation: {
                        "chain": {"id": "chain-1"},
                        "chainlets": [
                            {
                                "name": chainlet.name,
                                "id": f"chainlet-{index}",
                                "is_entrypoint": index == 0,
                                "oracle": {
                                    "id": f"oracle-{index}",
                                    "name": chainlet.model_name,
                                    "hostname": "model.api.fake",
                                },
                                "oracle_version": {
                                    "id": f"version-{index}",
                                    "is_draft": False,
                                    "current_model_deployment_status": {
                                        "status": status
                                    },
                                },
                            }
                            for index, chainlet in enumerate(deployed)
                        ],
                    }
                }
            }
        self.unexpected.append(f"query {operation!r}")
        return {"errors": [{"message": f"the fake does not know {operation!r}"}]}

    def deployments(self) -> list[Deployment]:
        """Every `deploy_chain_atomic` mutation truss sent, read back."""
        return [
            _read_deployment(c.query)
            for c in self.calls
            if c.operation == "deploy_chain_atomic"
        ]

    def archive(self, s3_key: str) -> dict[str, bytes]:
        """The files of the Truss archive uploaded under `s3_key` (path -> bytes)."""
        files: dict[str, bytes] = {}
        with tarfile.open(fileobj=io.BytesIO(self.uploads[s3_key])) as tar:
            for member in tar.getmembers():
                if member.isfile():
                    extracted = tar.extractfile(member)
                    assert extracted is not None
                    files[member.name.removeprefix("./")] = extracted.read()
        return files

    def environment(self, home: Path) -> dict[str, str]:
        """Write `~/.trussrc` and `~/.aws/config` under `home`; the variables to run with."""
        home.mkdir(parents=True, exist_ok=True)
        (home / ".trussrc").write_text(
            f"[{REMOTE_NAME}]\nremote_provider = baseten\napi_key = {API_KEY}\n"
            f"remote_url = {self.url}\n"
        )
        (home / ".aws").mkdir(exist_ok=True)
        (home / ".aws" / "config").write_text(
            f"[default]\nendpoint_url = {self.url}\nregion = us-east-1\n"
            "s3 =\n    addressing_style = path\n"
        )
        return {
            "HOME": str(home),
            **{
                name: value
                for proxy in ("http_proxy", "https_proxy", "all_proxy")
                for name, value in ((proxy, DEAD_PROXY), (proxy.upper(), DEAD_PROXY))
            },
            "no_proxy": "127.0.0.1",
            "NO_PROXY": "127.0.0.1",
        }

    def __enter__(self) -> FakeBaseten:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


_ARGUMENT = re.compile(r'^\s*(\w+): ("(?:[^"\\]|\\.)*"|true|false)\s*$', re.MULTILINE)
_CHAINLET = re.compile(
    r'name: "(?P<name>[^"]*)",\s*oracle: \{\s*model_name: "(?P<model_name>[^"]*)",\s*'
    r's3_key: "(?P<s3_key>[^"]*)",\s*encoded_config_str: "(?P<config>[^"]*)"'
)


def _read_deployment(query: str) -> Deployment:
    """The arguments and Chainlets of a `deploy_chain_atomic` mutation, as truss writes it."""
    head = query.split("entrypoint:", 1)[0]
    arguments = {
        match.group(1): match.group(2).strip('"') for match in _ARGUMENT.finditer(head)
    }
    chainlets = [
        Chainlet(
            name=match["name"],
            model_name=match["model_name"],
            s3_key=match["s3_key"],
            config=json.loads(base64.b64decode(match["config"])),
        )
        for match in _CHAINLET.finditer(query)
    ]
    return Deployment(arguments, chainlets)


def iter_operations(fake: FakeBaseten) -> Iterator[str]:
    """The operations truss asked for, in order."""
    return (call.operation for call in fake.calls)
