"""Download a dataset file over HTTP(S): progress in the log, sha256 verified, interrupted downloads resumed.

Written by hand on top of ``requests`` because pooch (the usual choice) restarts interrupted downloads from
zero and the paper's files are up to several GB.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import requests

from sysvi_bench.data.came import ChecksumError, verify_sha256

CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """A download that could not complete (no network, HTTP error)."""


def _report(done: int, total: int | None, start: float, url: str) -> None:
    rate = done / max(time.perf_counter() - start, 1e-9) / 2**20
    size = f"/{total / 2**20:.1f}" if total else ""
    print(f"  {url}: {done / 2**20:.1f}{size} MiB ({rate:.1f} MiB/s)", file=sys.stderr, flush=True)


def download(url: str, dest: Path | str, sha256: str, *, timeout: float = 30.0) -> Path:
    """Fetch ``url`` to ``dest`` and verify its sha256.

    Bytes arrive in ``dest + ".part"``; a later call resumes from it with an HTTP Range request (a server that
    ignores Range makes us restart cleanly). ``dest`` appears only once complete and verified; a checksum
    mismatch deletes the partial file and raises :class:`ChecksumError`.
    """
    dest = Path(dest)
    if dest.exists():
        verify_sha256(dest, sha256)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    offset = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        response = requests.get(url, headers=headers, stream=True, timeout=timeout)
    except requests.RequestException as exc:
        raise DownloadError(f"cannot download {url}: {exc} (no network? download it by hand to {dest})") from exc
    with response:
        if response.status_code == 416:  # range beyond the end: the part file is already complete
            response.close()
        elif response.status_code not in (200, 206):
            raise DownloadError(f"cannot download {url}: HTTP {response.status_code}")
        else:
            resumed = response.status_code == 206
            mode = "ab" if resumed else "wb"
            done = offset if resumed else 0
            length = response.headers.get("Content-Length")
            total = int(length) + done if length else None
            print(f"downloading {url} -> {dest}" + (f" (resuming at {offset} bytes)" if resumed else ""), file=sys.stderr)
            start, last = time.perf_counter(), 0.0
            with open(part, mode) as handle:
                try:
                    for chunk in response.iter_content(CHUNK):
                        handle.write(chunk)
                        done += len(chunk)
                        if time.perf_counter() - last > 5:
                            _report(done, total, start, url)
                            last = time.perf_counter()
                except requests.RequestException as exc:
                    raise DownloadError(f"download of {url} interrupted at {done} bytes: {exc}; rerun to resume") from exc
            _report(done, total, start, url)
    try:
        verify_sha256(part, sha256)
    except ChecksumError:
        part.unlink()
        raise ChecksumError(f"{url}: the downloaded file's sha256 does not match {sha256}; the partial file was removed") from None
    os.replace(part, dest)
    return dest
