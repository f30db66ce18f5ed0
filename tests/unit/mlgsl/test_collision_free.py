"""§IV-C.2's collision-free ratio counts only Top-1 grasps that land on an object (issue #11, item 3)."""

import numpy as np
import pytest

from robopercept.formats.jacquard import GraspRect
from robopercept.mlgsl import metrics as M
from robopercept.mlgsl.data import Item

SIZE = 64


def _maps(row: int, col: int) -> dict[str, np.ndarray]:
    """Maps whose one quality peak is at (row, col): a horizontal grasp 12 px wide."""
    q = np.zeros((SIZE, SIZE), np.float32)
    q[row, col] = 1.0
    return {"q": q, "cos": np.ones_like(q), "sin": np.zeros_like(q), "width": np.full_like(q, 12 / (M.WIDTH_SCALE * SIZE))}


def _item(name: str, instances: np.ndarray) -> Item:
    label = GraspRect(10.0, 10.0, 0.0, 12.0, 4.0)
    return Item(name, np.zeros((SIZE, SIZE), np.float32), [label], [label], 1.0, instances)


def test_grasps_off_every_object_are_left_out_of_the_ratio(monkeypatch):
    inst = np.zeros((SIZE, SIZE), np.int32)
    inst[20:44, 20:30] = 1  # the grasped object, its jaws free at a 12 px opening
    inst[20:44, 40:60] = 2  # a second object, far right
    crowded = inst.copy()
    crowded[28:36, 30:34] = 3  # a third one pressed against the first: the right jaw lands on it
    items = [_item("free", inst), _item("blocked", crowded), _item("table", inst)]
    peaks = {"free": (32, 25), "blocked": (32, 25), "table": (5, 5)}  # the last grasp is on the empty table
    order = iter(peaks.values())
    monkeypatch.setattr(M, "predict", lambda model, depths, **kw: [_maps(*next(order)) for _ in depths])
    sel = M.Selection(SIZE, smooth_sigma_at_300=0.0)
    d = M.collision_per_image(None, items, sel, finger_px=2.0)
    assert d["on_object"].tolist() == [True, True, False]
    assert d["free"].tolist() == [True, False, False]
    order = iter(peaks.values())
    assert M.collision_free_ratio(None, items, sel, finger_px=2.0) == pytest.approx(50.0)  # 1 of the 2 on an object
