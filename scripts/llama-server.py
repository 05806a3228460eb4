#!/usr/bin/env python3
"""A `llama-server`-compatible launcher for llama.cpp's HTTP server as embedded
in the xllamacpp wheel (no compiler needed). It takes the usual flags, so an
experiment's server command reads the same as for a real llama-server, and
serves until it gets SIGTERM or SIGINT.
"""
import argparse
import signal
import sys
import time

import xllamacpp


def main():
    p = argparse.ArgumentParser(prog="llama-server")
    p.add_argument("-m", "--model", required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("-c", "--ctx-size", type=int, default=4096)
    p.add_argument("-np", "--parallel", type=int, default=1)
    p.add_argument("-t", "--threads", type=int, default=1)
    p.add_argument("-tb", "--threads-batch", type=int)
    p.add_argument("-b", "--batch-size", type=int)
    p.add_argument("-ub", "--ubatch-size", type=int)
    p.add_argument("-a", "--alias")
    p.add_argument("--no-cache-prompt", action="store_true")
    p.add_argument("--no-cont-batching", action="store_true")
    p.add_argument("--metrics", action="store_true")
    p.add_argument("--slots", action="store_true")
    p.add_argument("-ngl", "--n-gpu-layers", type=int, help="accepted and ignored: this build is CPU only")
    a = p.parse_args()

    params = xllamacpp.CommonParams()
    params.model.path = a.model
    params.n_ctx = a.ctx_size
    params.n_parallel = a.parallel
    params.cont_batching = not a.no_cont_batching
    params.cpuparams.n_threads = a.threads
    params.cpuparams_batch.n_threads = a.threads_batch or a.threads
    if a.batch_size:
        params.n_batch = a.batch_size
    if a.ubatch_size:
        params.n_ubatch = a.ubatch_size
    # Releases before 2026.7 take one host name; later ones a list.
    if hasattr(params, "hostnames"):
        params.hostnames = [a.host]
    else:
        params.hostname = a.host
    params.port = a.port
    params.endpoint_metrics = a.metrics
    params.endpoint_slots = a.slots
    params.cache_prompt = not a.no_cache_prompt
    if a.alias:
        try:
            params.model_alias = {a.alias}
        except TypeError:  # releases before 2026.7 take a string
            params.model_alias = a.alias

    # Exit cleanly (and let the server's destructor run) on TERM as on Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = xllamacpp.Server(params)
    print(f"llama-server (xllamacpp {xllamacpp.__version__}) listening on {server.listening_address}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
