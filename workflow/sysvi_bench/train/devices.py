"""Which accelerator a job can use, decided cheaply (no torch import: the Snakefile calls this)."""

from __future__ import annotations

import glob
import os
import platform
import sys


def local_gpu_visible() -> bool:
    """Whether Lightning's ``accelerator="auto"`` would find a GPU on this machine.

    ``CUDA_VISIBLE_DEVICES`` wins when set (SLURM sets it to the allocated GPUs); otherwise an NVIDIA
    device node or Apple silicon (MPS) counts as a GPU.
    """
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return visible.strip() not in ("", "-1")
    if sys.platform == "darwin" and platform.machine() == "arm64":
        return True
    return bool(glob.glob("/dev/nvidia[0-9]*"))
