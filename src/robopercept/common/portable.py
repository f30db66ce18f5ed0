"""Training whose bytes do not depend on the CPU it runs on (README "Across machines").

Measured (sessions 20-21): the same code, data and seed train different weights on an Intel Xeon (AVX-512) and an
AMD EPYC (Zen 3, AVX2), from the first or second step on, and no switch tried in session 20 (ATen's AVX2 kernels,
oneDNN capped at AVX2, MKL's AVX2 or COMPATIBLE branch, each alone) made the Xeon repeat the AMD run. Three
libraries inside torch pick their code by CPU:

* **oneDNN** (torch's CPU convolutions): JIT kernels chosen by instruction set, blocked by the CPU's cache sizes, so
  the order in which a convolution sums its inputs changes with the machine. Portable mode switches it off
  (``torch.backends.mkldnn.enabled = False``): convolutions become im2col + a GEMM.
* **MKL** (torch's GEMM): kernels chosen by instruction set and blocked by cache size. Portable mode turns on MKL's
  *conditional numerical reproducibility* on its ``COMPATIBLE`` branch, strict (``MKL_CBWR=COMPATIBLE,STRICT``):
  SSE2 code with fixed cache sizes, deterministic reductions and static scheduling, the one branch Intel documents
  for Intel and non-Intel processors alike; ``STRICT`` removes the dependence on array alignment. (The ``AVX2``
  branch is twice as fast but documented for Intel CPUs only.)
* **ATen** (torch's own element-wise and reduction kernels): compiled once per instruction set (default, AVX2,
  AVX-512) and dispatched at run time. Portable mode asks for the AVX2 build (``ATEN_CPU_CAPABILITY=avx2``), which
  every x86 CPU since 2013 (Intel Haswell, AMD Zen) runs with the same instructions.

and the thread count decides how reductions split: portable mode runs :data:`PORTABLE_THREADS` threads whatever the
machine has. The environment variables must be set before MKL and ATen first run, so the work runs in a fresh
(spawned) interpreter started with them, which dies with its parent.

What it costs, measured on the Intel Xeon (``python -m robopercept.common.portable --bench``, the stand-in backbone's
pretext model, batch 8 at 160x240): 0.8 s a training step by default, 2.8 s portable.
So only the stage every paper shares — the stand-in pretrained backbone — trains this way. Measured in session 22,
portable mode is *not* bit-portable across CPU vendors: an AMD EPYC (Zen 4) and the Intel Xeon train different
weights from the same code, data and seed (the departing operation is not yet found; :mod:`.vendor_probe` records
every intermediate's digest so that two machines' records can be diffed). What it does give, measured: two runs on
one machine repeat byte for byte, whatever MKL branch or oneDNN cap the environment asks for. So the backbone the
papers start from is committed to git (README "Across machines"): a clone on any machine reuses those bytes, and
each paper's own training chain can be rerun there (that chain's training outputs are still the machine's own).

What is checked where (tests/unit/test_portable.py): on one machine, the portable digest does not move when MKL is
told to use AVX2 or oneDNN is capped; across machines, a golden digest per CPU model (vendor-family-model) recorded
where it was measured, so a CI run on a recorded model checks it and one on a new model says it has no record.
"""

from __future__ import annotations

import contextlib
import hashlib
import multiprocessing
import os
import tempfile
import traceback
from pathlib import Path
from typing import Any, Callable, Iterator

PORTABLE_THREADS = 2
PORTABLE_ENV = {
    "MKL_CBWR": "COMPATIBLE,STRICT",  # MKL: the SSE2 branch, fixed cache sizes, static scheduling, any alignment
    "ATEN_CPU_CAPABILITY": "avx2",  # ATen: the AVX2 build of its kernels
    "OMP_NUM_THREADS": str(PORTABLE_THREADS),
    "MKL_NUM_THREADS": str(PORTABLE_THREADS),
}


class PortableRunError(RuntimeError):
    """The function run in portable mode raised; the message carries the child's traceback."""


@contextlib.contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def configure_torch() -> dict[str, Any]:
    """Inside the portable interpreter: oneDNN off, the fixed thread count; returns what torch now runs with."""
    import torch

    torch.backends.mkldnn.enabled = False
    torch.set_num_threads(PORTABLE_THREADS)
    return {"mkldnn": torch.backends.mkldnn.enabled, "threads": torch.get_num_threads(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(), "mkl_cbwr": os.environ.get("MKL_CBWR")}


def _child(parent: int, fn: Callable, args: tuple, kwargs: dict, out: str) -> None:
    from robopercept.world.shards import _die_with_parent

    _die_with_parent(parent)  # SIGKILL when the parent dies (it sets 1 thread; configure_torch sets ours after it)
    import torch

    try:
        configure_torch()
        result: Any = {"ok": fn(*args, **kwargs)}
    except BaseException:  # noqa: BLE001 - handed to the parent, which raises it with this traceback
        result = {"error": traceback.format_exc()}
    tmp = out + ".tmp"  # written whole, then renamed: a child killed mid-write leaves no result, not half a one
    try:
        torch.save(result, tmp)
    except Exception:  # noqa: BLE001 - e.g. a return value torch.save cannot pickle
        torch.save({"error": "the result could not be saved:\n" + traceback.format_exc()}, tmp)
    os.replace(tmp, out)


def run_portable(fn: Callable, /, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` in a fresh interpreter in portable mode; its return value (anything ``torch.save``
    can write: tensors, modules, lists of dicts).

    ``fn`` must be importable by name (a module-level function of a package, not one defined in a notebook) and its
    arguments picklable; a script that calls this needs the usual ``if __name__ == "__main__":`` guard of a spawned
    process. The child dies with this process, and is stopped when this call is interrupted."""
    ctx = multiprocessing.get_context("spawn")
    name = getattr(fn, "__qualname__", repr(fn))
    with tempfile.TemporaryDirectory(prefix="robopercept-portable-") as tmp:
        out = Path(tmp) / "result.pt"
        proc = ctx.Process(target=_child, args=(os.getpid(), fn, args, kwargs, str(out)), name=f"portable:{name}")
        try:
            with _environ(PORTABLE_ENV):  # the child's environment is copied at start
                proc.start()
            proc.join()
        finally:  # interrupted (e.g. a kernel interrupt), even while starting: stop the child before its folder goes
            if proc.is_alive():
                proc.terminate()
                proc.join()
        if not out.exists():
            raise PortableRunError(f"portable run of {name} died without a result (exit code {proc.exitcode})")
        import torch

        result = torch.load(out, weights_only=False)  # our own child's file, written a moment ago
    if "error" in result:
        raise PortableRunError(f"portable run of {name} failed:\n{result['error']}")
    return result["ok"]


def train_digest(steps: int = 3, seed: int = 0) -> str:
    """md5 of a small conv net's weights after ``steps`` Adam steps on seeded noise (the portability probe)."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.Conv2d(16, 32, 3, stride=2),
                        nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 5))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(seed + 1)
    x = torch.rand(8, 3, 48, 64, generator=g)
    y = torch.randint(0, 5, (8,), generator=g)
    for _ in range(steps):
        loss = nn.functional.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    h = hashlib.md5()
    for v in net.state_dict().values():
        h.update(v.detach().contiguous().numpy().tobytes())
    return h.hexdigest()


def _bench_step(steps: int = 4) -> list[float]:
    """Seconds per training step of the stand-in's pretext model (batch 8, 160x240)."""
    import time

    import torch
    import torch.nn.functional as F

    from .pretrain import DenseDetectorPretext

    torch.manual_seed(0)
    model = DenseDetectorPretext("resnet18", 6)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(1)
    x, y = torch.rand(8, 3, 160, 240, generator=g), torch.randint(0, 7, (8, 160, 240), generator=g)
    out = []
    for _ in range(steps):
        t = time.perf_counter()
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        out.append(time.perf_counter() - t)
    return out


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m robopercept.common.portable",
                                 description="The portable training mode: its digest, settings and cost here.")
    ap.add_argument("--bench", action="store_true", help="also time the stand-in's training step, default vs portable")
    a = ap.parse_args(argv)
    print("portable settings:", run_portable(configure_torch))
    print("portable digest:", run_portable(train_digest))
    if a.bench:
        import statistics

        import torch

        torch.set_num_threads(PORTABLE_THREADS)
        default = _bench_step()
        portable = run_portable(_bench_step)
        print(f"pretext training step, median of the last 3 of 4: default {statistics.median(default[1:]):.2f} s, "
              f"portable {statistics.median(portable[1:]):.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
