import numpy as np

from robopercept.reporting.convergence import unconverged


def test_a_run_cut_by_max_steps_within_patience_of_its_best_has_not_converged():
    # eval every 50, patience 3: the rule fires 150 steps after the best
    steps = [500, 500, 400, 500]
    best = [450, 350, 250, 500]
    assert unconverged(steps, best, 500, 50, 3).tolist() == [True, False, False, True]
    # per-run budgets and intervals (a row trained twice as long, evaluated half as often)
    assert unconverged([1000, 500], [850, 400], np.array([1000, 500]), np.array([100, 50]), 2).tolist() == [True, False]
