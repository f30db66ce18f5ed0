"""robopercept: a notebook-first replication of five robot-perception papers.

Importing the package makes the process offline: nothing in this repository downloads at run
time. Pretrained weights, where a paper uses them, come from local paths given in params.yaml.
"""

from __future__ import annotations

import os

# Offline by default (set before any Hugging Face / torch hub import). A user who really wants
# to reach a hub can export these variables as "0" before importing robopercept.
for _var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "DIFFUSERS_OFFLINE"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")

__version__ = "0.1.0"
