"""Portable training mode (robopercept.common.portable): the settings take effect in the child, its digest is a
golden one recorded on an Intel Xeon (so CI on another CPU checks the cross-machine claim), it does not move with the
knobs that differ between CPUs, and a failure in the child names the function and carries its traceback."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from robopercept.common.portable import PortableRunError, configure_torch, run_portable, train_digest
from robopercept.reporting.cpu import parse_cpuinfo

# md5 of train_digest() in portable mode, torch 2.14.1; measured on an Intel Xeon (family 6 model 167, AVX-512).
# The same digest on any other x86 CPU with AVX2 is what portable mode promises.
PORTABLE_DIGEST = "d4166d6c351ba084d07d430faec641d2"


def _flags() -> set[str]:
    try:
        return set(parse_cpuinfo(Path("/proc/cpuinfo").read_text())["flags"])
    except OSError:
        return set()


X86_AVX2 = platform.machine() in ("x86_64", "AMD64") and {"avx2", "fma"} <= _flags()
needs_avx2 = pytest.mark.skipif(not X86_AVX2, reason="portable mode's kernels are the AVX2 ones (x86 CPUs with AVX2)")


def _digest_in_fresh_interpreter(extra_env: dict[str, str]) -> str:
    code = "from robopercept.common.portable import run_portable, train_digest; print(run_portable(train_digest))"
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, **extra_env}, capture_output=True, text=True,
                         check=True)
    return out.stdout.strip()


@needs_avx2
def test_the_child_runs_without_onednn_on_two_threads_and_the_avx2_kernels():
    got = run_portable(configure_torch)
    assert got == {"mkldnn": False, "threads": 2, "cpu_capability": "AVX2", "mkl_cbwr": "COMPATIBLE,STRICT"}
    assert "MKL_CBWR" not in os.environ or os.environ["MKL_CBWR"] != "COMPATIBLE,STRICT"  # the parent is untouched


@needs_avx2
def test_portable_training_gives_the_golden_digest():
    assert run_portable(train_digest) == PORTABLE_DIGEST, (
        "portable training gave other weights than on the Intel Xeon that recorded PORTABLE_DIGEST: the stand-in "
        "backbone (pretrained_backbone) is not the same bytes on this CPU; record this CPU and digest in README "
        "'Across machines'")


@needs_avx2
def test_the_digest_does_not_move_with_the_cpu_dependent_knobs():
    # what differs on an AVX2-only CPU: the instruction sets MKL and oneDNN may use (the thread count is fixed by
    # configure_torch, checked above)
    env = {"MKL_ENABLE_INSTRUCTIONS": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
    assert _digest_in_fresh_interpreter(env) == run_portable(train_digest)


@needs_avx2
def test_the_default_mode_trains_other_bytes_so_the_probe_measures_something():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        default = train_digest()
    finally:
        torch.set_num_threads(threads)
    assert default != PORTABLE_DIGEST  # on the Xeon that recorded it: 1ca30a6b75d26082e49a09fe7d59bab6


def _fails(x: int) -> int:
    raise ValueError(f"bad input {x}")


def test_a_failure_in_the_child_names_the_function_and_its_traceback():
    with pytest.raises(PortableRunError, match=r"(?s)_fails failed.*ValueError: bad input 3"):
        run_portable(_fails, 3)
