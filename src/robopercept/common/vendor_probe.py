"""Where portable training stops being portable: a step-by-step digest of portable mode's probe, to diff between CPUs.

Portable mode (:mod:`robopercept.common.portable`) trains the same weights on every machine of one CPU model, but not
across vendors: its probe :func:`~robopercept.common.portable.train_digest` gave ``d4166d6c…`` on an Intel Xeon
(family 6 model 167) and ``a002caff…`` on an AMD EPYC (family 25 model 17), torch 2.14.1 both. Which operation
differs cannot be found on one machine, so this module writes the md5 of every intermediate of the probe — the seeded
inputs, each layer's output, the loss, each gradient, the weights after each Adam step — plus a few single operations
(one MKL matrix product, one convolution, elementwise transcendental functions), all in portable mode. Run it on two
CPUs and diff the JSON: the first line that differs names the operation::

    python -m robopercept.common.vendor_probe > probe-$(hostname).json

``tests/data/vendor_probe/`` holds the records made so far (one file per CPU model); ``tests/unit/test_portable.py``
checks this machine against its own CPU model's record when there is one.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from robopercept.reporting.cpu import parse_cpuinfo


def cpu_model() -> str:
    """``<vendor>-<family>-<model>`` of this CPU (the key of a record), e.g. ``AuthenticAMD-25-17``."""
    try:
        info = parse_cpuinfo(Path("/proc/cpuinfo").read_text())
    except OSError:
        return "unknown"
    return f"{info.get('vendor', 'unknown')}-{info.get('family', '?')}-{info.get('model', '?')}"


def _md5(t: Any) -> str:
    return hashlib.md5(t.detach().contiguous().numpy().tobytes()).hexdigest()


def _state_md5(net: Any) -> str:
    """md5 over a module's state_dict tensors in order (how ``train_digest`` hashes its weights)."""
    return hashlib.md5(b"".join(v.detach().contiguous().numpy().tobytes() for v in net.state_dict().values())).hexdigest()


def probe_steps(steps: int = 3, seed: int = 0) -> dict[str, str]:
    """The single-operation probes (on their own generator), then the md5 of every intermediate of
    :func:`robopercept.common.portable.train_digest` (same net, data and steps) in the order they are computed; the
    last entry is ``train_digest``'s own digest. Call it in portable mode (``main`` does)."""
    import torch
    from torch import nn

    out: dict[str, str] = {}
    g = torch.Generator().manual_seed(seed + 11)
    a, b = torch.randn(257, 129, generator=g), torch.randn(129, 67, generator=g)
    out["op/mm (MKL SGEMM)"] = _md5(a @ b)
    out["op/mm transposed"] = _md5(b.t() @ a.t())
    img, w = torch.randn(2, 8, 19, 23, generator=g), torch.randn(16, 8, 3, 3, generator=g)
    out["op/conv2d forward"] = _md5(nn.functional.conv2d(img, w, padding=1))
    v = torch.rand(4099, generator=g) * 8 - 4
    for name, fn in (("exp", torch.exp), ("log", lambda x: torch.log(x.abs() + 1e-3)), ("tanh", torch.tanh),
                     ("sigmoid", torch.sigmoid), ("sqrt", lambda x: x.abs().sqrt()), ("sum", lambda x: x.sum())):
        out[f"op/{name}"] = _md5(fn(v))
    out["op/log_softmax"] = _md5(torch.log_softmax(torch.randn(64, 37, generator=g), dim=1))

    torch.manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.Conv2d(16, 32, 3, stride=2),
                        nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 5))
    out["init"] = _state_md5(net)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    gd = torch.Generator().manual_seed(seed + 1)
    x = torch.rand(8, 3, 48, 64, generator=gd)
    y = torch.randint(0, 5, (8,), generator=gd)
    out["data/x"], out["data/y"] = _md5(x), _md5(y)
    for step in range(steps):
        h = x
        for i, layer in enumerate(net):
            h = layer(h)
            out[f"step{step}/forward {i} {type(layer).__name__}"] = _md5(h)
        loss = nn.functional.cross_entropy(h, y)
        out[f"step{step}/loss"] = _md5(loss)
        opt.zero_grad()
        loss.backward()
        for name, p in net.named_parameters():
            out[f"step{step}/grad {name}"] = _md5(p.grad)
        opt.step()
        for name, t in net.state_dict().items():
            out[f"step{step}/after Adam {name}"] = _md5(t)
    out["final weights (= train_digest)"] = _state_md5(net)
    return out


def record() -> dict[str, Any]:
    """This machine's record: the CPU model, torch's version, portable mode's settings and the probe's digests."""
    import torch

    from .portable import configure_torch, run_portable, train_digest

    return {"cpu": cpu_model(), "torch": torch.__version__.split("+")[0], "settings": run_portable(configure_torch),
            "train_digest": run_portable(train_digest), "steps": run_portable(probe_steps)}


def first_difference(a: dict[str, str], b: dict[str, str]) -> str | None:
    """The first probe step (in ``a``'s order, then ``b``'s steps that ``a`` lacks) whose digest differs between two
    records' ``steps``, or None."""
    return next((k for k in [*a, *(k for k in b if k not in a)] if a.get(k) != b.get(k)), None)


def main(argv: list[str] | None = None) -> int:
    json.dump(record(), sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
