"""A local stand-in for the Hugging Face Hub's file download route, for download tests without network.

Serves ``/{repo_id}/resolve/main/{filename}`` (HEAD and GET, with the X-Repo-Commit / ETag / Content-Length
headers huggingface_hub reads) from a dict of bytes, in chunks, on 127.0.0.1. Point huggingface_hub at it
with ``huggingface_hub.constants.ENDPOINT = server.url``.
"""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager

COMMIT = "89abcdef0123456789abcdef0123456789abcdef"
CHUNK_BYTES = 64 * 1024


class _Handler(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}

    def log_message(self, format, *args) -> None:  # keep pytest output clean
        pass

    def _lookup(self) -> bytes | None:
        path = self.path.split("?")[0]
        return self.files.get(path)

    def _headers(self, body: bytes, status: int = 200, start: int = 0) -> None:
        self.send_response(status)
        self.send_header("X-Repo-Commit", COMMIT)
        self.send_header("ETag", '"' + hashlib.sha256(body).hexdigest() + '"')
        self.send_header("Content-Length", str(len(body) - start))
        self.send_header("Content-Type", "application/octet-stream")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.end_headers()

    def do_HEAD(self) -> None:
        body = self._lookup()
        if body is None:
            self.send_error(404)
            return
        self._headers(body)

    def do_GET(self) -> None:
        body = self._lookup()
        if body is None:
            self.send_error(404)
            return
        start = 0
        if self.headers.get("Range", "").startswith("bytes="):
            start = int(self.headers["Range"][6:].split("-")[0])
        self._headers(body, 206 if start else 200, start)
        try:
            for offset in range(start, len(body), CHUNK_BYTES):
                self.wfile.write(body[offset : offset + CHUNK_BYTES])
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):  # the client stopped reading
            pass


class FakeHub:
    def __init__(self, files: dict[str, bytes]) -> None:
        handler = type("Handler", (_Handler,), {"files": dict(files)})
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @staticmethod
    def file_path(repo_id: str, filename: str) -> str:
        return f"/{repo_id}/resolve/main/{filename}"


@contextmanager
def fake_hub(files: dict[tuple[str, str], bytes]) -> Iterator[FakeHub]:
    """Serve {(repo_id, filename): bytes} until the block ends."""
    hub = FakeHub({FakeHub.file_path(repo, name): data for (repo, name), data in files.items()})
    hub.thread.start()
    try:
        yield hub
    finally:
        hub.server.shutdown()
        hub.server.server_close()
