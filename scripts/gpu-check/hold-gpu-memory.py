"""Holds GIB gibibytes of GPU memory until killed, then touches READY_FILE.

The stand-in for a model server's weights in the GPU check: the server command
starts it in the server's process group, so infer-bench should attribute its
memory to the server (NVML per-process) as well as see it on the device.
"""
import pathlib
import sys
import time

import torch

gib, ready = float(sys.argv[1]), pathlib.Path(sys.argv[2])
held = torch.empty(int(gib * 2**30), dtype=torch.uint8, device="cuda")
held.fill_(1)
torch.cuda.synchronize()
ready.touch()
while True:
    time.sleep(60)
