"""Did an early-stopped training run converge? One rule for every stage that trains with patience.

A loop that evaluates every ``eval_every`` steps and stops after ``patience`` evaluations without a new best
ends a run either *by the rule* (it stopped early, or reached ``max_steps`` at least ``patience · eval_every``
steps after its best — the rule would have fired there too) or *cut by the budget*: it reached ``max_steps``
fewer than ``patience · eval_every`` steps after its best, so it had not converged by its own criterion and more
steps might still have improved it.
"""

from __future__ import annotations

import numpy as np


def unconverged(steps, best_step, max_steps, eval_every, patience) -> np.ndarray:
    """Per run (array-likes, broadcast): True where ``max_steps`` ended the run before early stopping could fire."""
    steps, best_step = np.asarray(steps), np.asarray(best_step)
    return (steps >= np.asarray(max_steps)) & (steps - best_step < patience * np.asarray(eval_every))
