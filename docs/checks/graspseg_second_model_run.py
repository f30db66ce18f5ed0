"""Train one graspseg model again outside the stage and compare its checkpoint's bytes with the stage's (issue #10).

    PYTHONPATH=src python docs/checks/graspseg_second_model_run.py VARIANT SEED DATASET MODELS_DIR OUT_DIR

DATASET: a `graspseg_grasps` dataset folder (the stage's input); MODELS_DIR: the `graspseg_train` stage's
`artifacts/models/graspseg/variants` to compare with; OUT_DIR: where this run writes. Uses the cpu profile's
`graspseg_model` section, run seed 0 and the committed stand-in backbone, as `dvc repro` does; the model trains in this
process on one torch thread (the stage: a one-thread pool worker). Session 49 ran it for Grasp-100 0,
Grasp-100-NoAug 2 and Grasp-100-LiteralLoss 0 against /tmp/regenE's stage: SAME for all three.
"""

import hashlib
import sys
from pathlib import Path

from robopercept.config import load_profile, section_class
from robopercept.graspseg.variants import _train_shard, model_key
from robopercept.seed import derive_seed
from robopercept.world.shards import Shard

REPO = Path(__file__).resolve().parents[2]


def main(argv: list[str]) -> int:
    if len(argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    name, k, dataset, models_dir, out_dir = argv[0], int(argv[1]), Path(argv[2]), Path(argv[3]), Path(argv[4])
    cfg = section_class("graspseg_model")(**load_profile("cpu")["graspseg_model"])
    key = model_key(name, k)
    shard = Shard(key, 1, derive_seed(0, "graspseg_model", name, k), (("variant", name), ("seed_index", k)))
    out = out_dir / key
    out.mkdir(parents=True, exist_ok=True)
    stats = _train_shard(shard, out, cfg=cfg, dataset=str(dataset),
                         pretrained=str(REPO / "artifacts/models/pretrain/backbone.pt"))
    a = hashlib.md5((out / "model.pt").read_bytes()).hexdigest()
    b = hashlib.md5((models_dir / key / "model.pt").read_bytes()).hexdigest()
    print(stats, a, b, "SAME" if a == b else "DIFFERENT")
    return 0 if a == b else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
