"""This CPU's instruction-set flags, for tests that only apply to x86 CPUs with AVX2 and FMA (the BLAS pin, portable
training mode)."""

from __future__ import annotations

import platform
from pathlib import Path

from robopercept.reporting.cpu import parse_cpuinfo


def cpu_flags() -> set[str]:
    try:
        return set(parse_cpuinfo(Path("/proc/cpuinfo").read_text())["flags"])  # avx2, fma, avx512f are among its FLAGS
    except OSError:
        return set()


FLAGS = cpu_flags()
X86_AVX2 = platform.machine() in ("x86_64", "AMD64") and {"avx2", "fma"} <= FLAGS
