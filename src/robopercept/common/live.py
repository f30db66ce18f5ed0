"""Training logs (dvclive) that a resumed run publishes in full.

A sweep on the shard runner resumes finished shards from its output folder; logs written straight into
``reports/training/...`` by each shard exist only for the shards trained in the *current* invocation (the stage
runner publishes a fresh reports tree), so a resumed run's logs differ from an uninterrupted run's — session 10 found
graspseg Table II's rerun publishing 6 of its 20 models' logs. Here a shard writes its log into its own folder
(``<shard>/live``, part of the shard's manifest, restored on resume), and :func:`publish` copies every shard's log to
the reports folder after the plan ran: resumed or not, the same files.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterable

SUBDIR = "live"


def shard_live(folder: str | Path):
    """A dvclive logger writing into the shard's own folder (no DVC experiment, no dvc.yaml, no report)."""
    from dvclive import Live

    return Live(dir=str(Path(folder) / SUBDIR), save_dvc_exp=False, dvcyaml=None, report=None)


def publish(out_dir: str | Path, keys: Iterable[str], live_dir: str | Path) -> list[Path]:
    """Copy each finished shard's log (``out_dir/<key>/live``) to ``live_dir/<key>``, replacing what was there."""
    done = []
    for key in keys:
        src = Path(out_dir) / key / SUBDIR
        if not src.is_dir():
            raise FileNotFoundError(f"shard {key} has no training log at {src}; rerun the stage")
        dst = Path(live_dir) / key
        if dst.exists():
            shutil.rmtree(dst)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(src, dst)
        done.append(dst)
    return done
