"""One BLAS code path on every x86 machine (Makefile, README "Across machines").

OpenBLAS, numpy's BLAS, picks its kernels by CPU. Its AVX-512 kernels (``SkylakeX``) round dot products and 1-D
norms differently from the AVX2 kernels (``Haswell``, which AMD Zen also runs), and the simulated datasets changed
between machines with it (session 20: shard 0 of the graspseg, mlgsl, apparel and DON generators, and the stand-in's
400 bins, all differ on an AVX-512 Intel Xeon between the two kernels; with ``OPENBLAS_CORETYPE=Haswell`` that
Xeon wrote the AMD Zen machine's bins byte for byte). The Makefile pins the Haswell kernels and registers the pin in
the Jupyter kernel every stage notebook runs in. These tests hold the pin in place and show it is not vacuous.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from cpu_flags import FLAGS, X86_AVX2
from robopercept.stage import DEFAULT_KERNEL

# md5 of the bytes of np.linalg.norm over the 1000 rows of default_rng(0).normal(size=(1000, 7)) with OpenBLAS's
# Haswell kernels (the same with its Zen kernels, AMD's default); measured on an Intel Xeon (family 6 model 167).
PINNED_NORMS_MD5 = "ad3d5183bc1603917123a27dafebc178"
# ... and with its SkylakeX (AVX-512) kernels, the default on that Xeon before the pin.
AVX512_NORMS_MD5 = "233f5b459b3964e7b0ff9e8ac07b8bbf"

NORMS = (
    "import hashlib, numpy as np\n"
    "a = np.random.default_rng(0).normal(size=(1000, 7))\n"
    "print(hashlib.md5(np.array([np.linalg.norm(v) for v in a]).tobytes()).hexdigest())\n"
)


needs_avx2 = pytest.mark.skipif(not X86_AVX2, reason="the pin applies to x86 CPUs with AVX2 and FMA only")


def _norms_digest(coretype: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    if coretype:
        env["OPENBLAS_CORETYPE"] = coretype
    out = subprocess.run([sys.executable, "-c", NORMS], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def _kernel_env() -> dict:
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(DEFAULT_KERNEL)
    except NoSuchKernel:
        pytest.skip(f"Jupyter kernel {DEFAULT_KERNEL!r} is not registered: run `make setup`")
    return dict(spec.env or {})


@needs_avx2
def test_the_stage_kernel_pins_openblas_to_the_avx2_kernels():
    assert _kernel_env().get("OPENBLAS_CORETYPE") == "Haswell", (
        f"the {DEFAULT_KERNEL!r} kernel runs without OPENBLAS_CORETYPE=Haswell: stage notebooks would use this CPU's "
        "own BLAS kernels; re-register it with `make setup`")


@pytest.mark.skipif(X86_AVX2, reason="this CPU has AVX2 and FMA")
def test_no_pin_where_the_haswell_kernels_cannot_run():
    assert "OPENBLAS_CORETYPE" not in _kernel_env()


@needs_avx2
@pytest.mark.parametrize("coretype", ["Haswell", "Zen"])
def test_pinned_kernels_give_the_recorded_bytes(coretype):
    """The golden digest was measured on another machine: equal bytes here mean the pin carries across CPUs."""
    assert _norms_digest(coretype) == PINNED_NORMS_MD5


@pytest.mark.skipif("avx512f" not in FLAGS or not X86_AVX2, reason="needs an AVX-512 CPU to show the difference")
def test_without_the_pin_an_avx512_machine_rounds_differently():
    """Not vacuous: left to choose, OpenBLAS on an AVX-512 CPU takes kernels whose bytes differ."""
    assert _norms_digest("SkylakeX") == AVX512_NORMS_MD5 != PINNED_NORMS_MD5
