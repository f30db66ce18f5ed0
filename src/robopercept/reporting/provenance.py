"""What ran where: package versions, CPU/GPU, threads, profile, seed, commit."""

from __future__ import annotations

import importlib.metadata as md
import os
import platform
import subprocess

from .. import paths

PACKAGES = ("robopercept", "torch", "torchvision", "numpy", "scipy", "pybullet", "opencv-contrib-python-headless",
            "pillow", "scikit-image", "pycocotools", "pandas", "matplotlib", "seaborn", "diffusers", "transformers", "dvc",
            "dvclive", "papermill", "jupytext", "ipykernel", "jupyterlab")


def package_versions(names=PACKAGES) -> dict[str, str]:
    out = {}
    for n in names:
        try:
            out[n] = md.version(n)
        except md.PackageNotFoundError:
            out[n] = "not installed"
    return out


# What a pipeline run writes itself: a tree that differs from HEAD only here is not "dirty" — the run did
# that (DVC's lock file and the stages' reports); anything else that differs (code, params.yaml, dvc.yaml)
# changes what ran, and the commit is recorded with "+dirty".
RUN_OUTPUTS = ("reports", "dvc.lock")


def git_commit() -> str:
    """The short HEAD commit, with ``+dirty`` when a tracked file outside :data:`RUN_OUTPUTS` differs from it."""
    try:
        res = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=paths.root(), capture_output=True,
                             text=True, check=True)
        excluded = [f":(exclude){p}" for p in RUN_OUTPUTS]
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", *excluded],
                               cwd=paths.root(), capture_output=True, text=True, check=True).stdout.strip()
        return res.stdout.strip() + ("+dirty" if dirty else "")
    except (subprocess.CalledProcessError, FileNotFoundError):
        return "unknown"


def machine() -> dict[str, str | int]:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "cpu": cpu,
        "cpu_count": os.cpu_count() or 0,
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none",
    }
