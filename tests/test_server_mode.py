"""GUIDE_CHROMA_URL: the same index in a real Chroma server (`chroma run`), and a clear
message when the server is down."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from guide.engine import Guide, ingest
from guide.errors import StoreUnavailableError
from guide.settings import Settings

pytestmark = pytest.mark.server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def chroma_server(tmp_path):
    exe = Path(sys.executable).parent / "chroma"
    if not exe.exists():
        exe = shutil.which("chroma")
    port = free_port()
    proc = subprocess.Popen([str(exe), "run", "--path", str(tmp_path / "server-data"), "--port", str(port),
                             "--host", "127.0.0.1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("chroma server did not start within 60 s")
    yield url, proc
    proc.kill()
    proc.wait(timeout=10)


def test_ingest_and_ask_through_a_chroma_server(chroma_server, tmp_path):
    url, proc = chroma_server
    cfg = Settings(chroma_url=url, index_dir=tmp_path / "local", embedder="hash", abstain_threshold=0.05, answer_threshold=0.05)
    first = ingest(cfg)
    assert first.rebuilt and first.chunks > 10
    assert not (tmp_path / "local" / "chroma").exists()  # nothing written to a local store
    assert not ingest(cfg).rebuilt  # the pointer lives in the server too
    guide = Guide.open(cfg)
    answer = guide.ask("Why does trust matter in co-production?")
    assert answer.quotes and all(q.verified for q in answer.quotes)

    proc.kill()
    proc.wait(timeout=10)
    with pytest.raises(StoreUnavailableError, match="vector store did not answer"):
        guide.ask("How do we keep people involved?")
    with pytest.raises(StoreUnavailableError, match="cannot reach the Chroma server"):
        Guide.open(cfg)


def test_server_that_is_down_from_the_start(tmp_path):
    cfg = Settings(chroma_url=f"http://127.0.0.1:{free_port()}", embedder="hash")
    with pytest.raises(StoreUnavailableError, match="unset GUIDE_CHROMA_URL"):
        ingest(cfg)
