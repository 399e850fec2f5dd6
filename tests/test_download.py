"""The url source against a real HTTP server on loopback: checksum, resume, restart, no network."""

from __future__ import annotations

import hashlib
import http.server
import socket
import threading

import pytest

from sysvi_bench.data.came import ChecksumError
from sysvi_bench.data.download import DownloadError, download

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB
SHA = hashlib.sha256(PAYLOAD).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    honour_range = True
    requests_seen: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server API)
        range_header = self.headers.get("Range")
        type(self).requests_seen.append(range_header or "")
        if self.path != "/data.h5ad":
            self.send_error(404)
            return
        start = int(range_header.split("=")[1].rstrip("-")) if range_header and self.honour_range else 0
        body = PAYLOAD[start:]
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    Handler.requests_seen = []
    Handler.honour_range = True
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_download_verifies_checksum(server, tmp_path):
    dest = download(f"{server}/data.h5ad", tmp_path / "d.h5ad", SHA)
    assert dest.read_bytes() == PAYLOAD
    assert not (tmp_path / "d.h5ad.part").exists()
    # cached: a second call does not fetch again
    download(f"{server}/data.h5ad", tmp_path / "d.h5ad", SHA)
    assert len(Handler.requests_seen) == 1


def test_checksum_mismatch_leaves_nothing(server, tmp_path):
    with pytest.raises(ChecksumError, match="data.h5ad"):
        download(f"{server}/data.h5ad", tmp_path / "d.h5ad", "0" * 64)
    assert list(tmp_path.iterdir()) == []


def test_interrupted_download_resumes_with_range(server, tmp_path):
    (tmp_path / "d.h5ad.part").write_bytes(PAYLOAD[:300_000])
    download(f"{server}/data.h5ad", tmp_path / "d.h5ad", SHA)
    assert Handler.requests_seen == ["bytes=300000-"]
    assert (tmp_path / "d.h5ad").read_bytes() == PAYLOAD


def test_server_without_range_support_restarts_cleanly(server, tmp_path):
    Handler.honour_range = False
    (tmp_path / "d.h5ad.part").write_bytes(b"garbage" * 1000)
    download(f"{server}/data.h5ad", tmp_path / "d.h5ad", SHA)
    assert (tmp_path / "d.h5ad").read_bytes() == PAYLOAD


def test_http_error_and_no_network_are_clear(server, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404"):
        download(f"{server}/missing.h5ad", tmp_path / "m.h5ad", SHA)
    with socket.socket() as s:  # a loopback port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DownloadError, match="no network"):
        download(f"http://127.0.0.1:{port}/data.h5ad", tmp_path / "n.h5ad", SHA, timeout=5)
    assert not (tmp_path / "n.h5ad").exists()
