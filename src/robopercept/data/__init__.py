"""Raw inputs in ``data/``: build them offline, verify them against ``data.dvc``, or pull them."""
