"""What the cpu profile's step cap costs graspseg's Table I models, and Grasp-200 vs Grasp-100 when trained longer
(issue #11 items 8 and the 60-min budget).

    PYTHONPATH=src python docs/checks/graspseg_convergence.py LONG_MODELS_DIR [CAPPED_MODELS_DIR] > OUT.md

LONG_MODELS_DIR: a `graspseg_train` stage's `artifacts/models/graspseg/variants` trained with a larger
`graspseg_model.max_steps` (session 49: 450, at the training code of today's stage). Training is deterministic and the
cap only ends it (constant learning rate, the same shuffles and validation steps), so a run capped at C is the first C
steps of the longer run: the table reads, from the long runs' validation curves, the best checkpoint each cap would
have kept. CAPPED_MODELS_DIR (optional): the stage's own, capped models; each of their validation curves is then
checked to be the long run's curve up to the cap, float for float (a cross-run determinism check, issue #10).

Writes markdown to stdout; reads checkpoints only (no training, a few seconds).
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

from robopercept.graspseg.train import read_checkpoint
from robopercept.reporting.convergence import unconverged

VARIANTS = ("Grasp-100", "Grasp-200", "Grasp-100-NoAug")  # the paper's variants, 3 seeds each
CAPS = (150, 200, 250, 300, 350, 400, 450)


def histories(models_dir: Path) -> tuple[dict[tuple[str, int], list[dict]], tuple[int, int]]:
    """Each run's validation history, and the (eval_every, patience) its checkpoints were trained with."""
    out, rules = {}, set()
    for d in sorted(models_dir.iterdir()):
        if not (d / "model.pt").exists():
            continue
        name, _, seed = d.name.rpartition("_seed")
        if name in VARIANTS:
            ckpt = read_checkpoint(d / "model.pt")
            out[(name, int(seed))] = list(ckpt["history"])
            rules.add((ckpt["settings"]["eval_every"], ckpt["settings"]["patience"]))
    if not out:
        raise SystemExit(f"{models_dir}: no checkpoints of {', '.join(VARIANTS)} (expected <variant>_seed<k>/model.pt)")
    if len(rules) != 1:
        raise SystemExit(f"{models_dir}: runs trained with different (eval_every, patience): {sorted(rules)}")
    return out, rules.pop()


def best_up_to(history: list[dict], cap: int) -> tuple[float, int]:
    """The best validation mIOU among evaluations at step <= cap and its step (early stopping's kept checkpoint)."""
    seen = [h for h in history if h["step"] <= cap]
    best = max(seen, key=lambda h: (h["val_mIOU"], -h["step"]))  # ties: the earlier step, as training keeps it
    return 100 * best["val_mIOU"], best["step"]


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2):
        print(__doc__, file=sys.stderr)
        return 2
    long_runs, (eval_every, patience) = histories(Path(argv[0]))
    last = {k: h[-1]["step"] for k, h in long_runs.items()}
    print(f"# graspseg: validation mIOU of the kept checkpoint at each step cap\n\nFrom `{argv[0]}` "
          f"({len(long_runs)} runs; each ended at step {', '.join(f'{k[0]} {k[1]}: {s}' for k, s in last.items())}). "
          "Per variant: mean ± std (ddof 1) over seeds of the best validation mIOU among evaluations up to the cap. A "
          "cap beyond a run's last step keeps its last best (the run had stopped early).\n")
    print("| cap | " + " | ".join(VARIANTS) + " | Grasp-200 − Grasp-100 | larger seed std | reading "
          "| Grasp runs not converged by the stage's rule |")
    print("|---|" + "---|" * (len(VARIANTS) + 4))
    readings = []
    for cap in CAPS:
        cells, means, stds, open_runs = [], {}, {}, 0
        for v in VARIANTS:
            runs = [h for (n, _), h in sorted(long_runs.items()) if n == v]
            vals = [best_up_to(h, cap)[0] for h in runs]
            means[v], stds[v] = statistics.mean(vals), statistics.stdev(vals)
            cells.append(f"{means[v]:.2f} ± {stds[v]:.2f}")
            if v in ("Grasp-100", "Grasp-200"):  # a run cut at cap, or its own early stop if that came first
                open_runs += int(sum(unconverged(min(h[-1]["step"], cap), best_up_to(h, cap)[1], cap, eval_every,
                                                 patience) for h in runs))
        d, noise = means["Grasp-200"] - means["Grasp-100"], max(stds["Grasp-200"], stds["Grasp-100"])
        reading = "Grasp-200 ahead" if d > noise else "Grasp-200 behind" if d < -noise else "within the seed std"
        readings.append((cap, d, noise, reading, open_runs))
        print(f"| {cap} | " + " | ".join(cells) + f" | {d:+.2f} | {noise:.2f} | {reading} | {open_runs} of 6 |")
    ahead = [r for r in readings if r[3] == "Grasp-200 ahead"]
    behind = [r for r in readings if r[3] == "Grasp-200 behind"]
    print(f"\nReading (the graspseg_train notebook's rule: a difference beyond the larger seed std): Grasp-200 is "
          f"ahead of Grasp-100 at {len(ahead)} of {len(readings)} caps"
          + (f" ({', '.join(str(r[0]) for r in ahead)})" if ahead else "")
          + f", behind at {len(behind)}, and within the seed std at the others; the difference ranges "
          f"{min(r[1] for r in readings):+.2f} to {max(r[1] for r in readings):+.2f}. At the longest cap "
          f"({readings[-1][0]}) it is {readings[-1][1]:+.2f} ({readings[-1][3]}) with {readings[-1][4]} of the 6 "
          "Grasp-100/Grasp-200 runs still not converged by the stage's own rule, so a longer budget does not give "
          "a settled answer on these 3 seeds either." if readings[-1][4] else
          f"At the longest cap ({readings[-1][0]}) every Grasp-100/Grasp-200 run had converged by the stage's rule.")
    print("\n## Per run: where the best checkpoint sits\n")
    print("| run | best step (any) | val mIOU | best step ≤ 250 | val mIOU ≤ 250 | curve (step: val mIOU) |")
    print("|---|---|---|---|---|---|")
    for (n, k), h in sorted(long_runs.items()):
        b, bs = best_up_to(h, 10 ** 9)
        c, cs = best_up_to(h, 250)
        curve = ", ".join(f"{e['step']}: {100 * e['val_mIOU']:.1f}" for e in h)
        print(f"| {n} seed {k} | {bs} | {b:.2f} | {cs} | {c:.2f} | {curve} |")
    if len(argv) == 2:
        capped, _ = histories(Path(argv[1]))
        print("\n## The capped stage's curves against the long runs'\n")
        same = 0
        for key, h in sorted(capped.items()):
            cap = h[-1]["step"]
            prefix = [(e["step"], e["val_mIOU"], e["train_loss"]) for e in long_runs.get(key, []) if e["step"] <= cap]
            mine = [(e["step"], e["val_mIOU"], e["train_loss"]) for e in h]
            ok = prefix == mine
            same += ok
            print(f"- {key[0]} seed {key[1]} (to step {cap}): "
                  + ("the long run's curve up to that step, float for float" if ok else
                     f"DIFFERENT from the long run's curve up to that step ({mine} vs {prefix})"))
        print(f"\n{same} of {len(capped)} capped runs are exactly the start of their long run.")
        return 0 if same == len(capped) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
