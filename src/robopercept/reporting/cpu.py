"""The CPU facts that decide whether two machines compute the same bytes.

Our stages are deterministic run to run on one machine, but float results (a trained network's weights, a simulated
dataset's contact points) can differ across CPU *models*: oneDNN, MKL and the compiler's vectorised kernels pick their
instruction set and blocking from the CPU's capabilities and cache sizes, and a different blocking sums in another
order. Issue #10 found it directly: the stand-in backbone of ``pretrained_backbone`` came out with one md5 on an AMD
EPYC of family 25 model 17 and another on an earlier "AMD EPYC" and on an Intel Xeon, from the same code and data;
``don_data``'s scenes differed by a few hundred bytes in the same way. "AMD EPYC" alone (what ``model name`` says
under this hypervisor) does not tell those machines apart, so the environment stage records this fingerprint: two
runs compare byte for byte only when their fingerprints match.
"""

from __future__ import annotations

from pathlib import Path

CPUINFO_KEYS = {"vendor_id": "vendor", "cpu family": "family", "model": "model", "stepping": "stepping",
                "model name": "model_name"}
# instruction-set extensions that change which kernels torch, oneDNN and MKL dispatch to
FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "amx_tile")


def parse_cpuinfo(text: str) -> dict[str, str | list[str]]:
    """The first processor's identity in ``/proc/cpuinfo`` text: vendor, family, model, stepping, model name and the
    :data:`FLAGS` it has (in :data:`FLAGS` order)."""
    out: dict[str, str | list[str]] = {}
    flags: set[str] = set()
    for line in text.splitlines():
        if not line.strip():
            if out:
                break  # the first processor's block ends
            continue
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key in CPUINFO_KEYS:
            out[CPUINFO_KEYS[key]] = value
        elif key == "flags":
            flags = set(value.split())
    out["flags"] = [f for f in FLAGS if f in flags]
    return out


def caches(root: str | Path = "/sys/devices/system/cpu/cpu0/cache") -> dict[str, str]:
    """Cache sizes of CPU 0 from sysfs, e.g. ``{"L1d": "32K", "L1i": "32K", "L2": "1024K", "L3": "32768K"}``
    (empty where sysfs has no cache folder)."""
    out = {}
    for index in sorted(Path(root).glob("index*")):
        try:
            level = (index / "level").read_text().strip()
            kind = (index / "type").read_text().strip()
            size = (index / "size").read_text().strip()
        except OSError:
            continue
        suffix = {"Data": "d", "Instruction": "i"}.get(kind, "")
        out[f"L{level}{suffix}"] = size
    return out


def fingerprint(cpuinfo: str | Path = "/proc/cpuinfo", cache_root: str | Path = "/sys/devices/system/cpu/cpu0/cache"
                ) -> dict:
    """This machine's CPU identity, caches, relevant instruction sets and what torch dispatches to."""
    import torch

    try:
        info = parse_cpuinfo(Path(cpuinfo).read_text())
    except OSError:
        info = {"flags": []}
    return {**info, "caches": caches(cache_root), "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "mkldnn": bool(torch.backends.mkldnn.is_available()), "mkl": bool(torch.backends.mkl.is_available())}


def same_bytes_expected(a: dict, b: dict) -> bool:
    """Whether runs on machines with fingerprints ``a`` and ``b`` should agree byte for byte: the same vendor, family,
    model, stepping, caches, flags and torch dispatch (the model name string is not enough, and is not needed)."""
    keys = ("vendor", "family", "model", "stepping", "caches", "flags", "torch_cpu_capability", "mkldnn", "mkl")
    return all(a.get(k) == b.get(k) for k in keys)
