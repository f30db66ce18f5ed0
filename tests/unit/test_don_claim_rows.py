"""Every don claim finds the rows it names under the profiles that matter, with no training: at the paper profile
every claim, at the cpu profile every claim whose experiments it trains (Table I, Fig. 5 at 1, 3 and 15 scenes) —
the others name an experiment cpu leaves out, and don_eval reports them "not evaluated" with that reason. A typo in a
row label, or a sweep point a profile drops that a claim still reads, fails here instead of as a quiet "not
evaluated"."""

import pytest

from robopercept import paths
from robopercept.config import load_profile, validate_params
from robopercept.don import grasping
from robopercept.don.experiments import experiments
from robopercept.don.temperature import rows as temperature_rows
from robopercept.reporting import claims, untrained

CLAIMS = paths.root() / "src/robopercept/don"


def _rows(profile: str) -> tuple[dict[str, str], set[str], set[str], set[str]]:
    """(row -> experiment of claims.yaml's table, its experiments, the temperature table's rows, Table V's rows)."""
    cfg = validate_params(load_profile(profile))
    tcfg = cfg["don_train"]
    exps = experiments(tcfg, cfg["don_data"].multi_train)  # don_data's multi-object training scenes, as recorded
    table = {f"{e}: {label}": e for e, items in exps.items() for label, _ in items}
    temp = {f"{e}: {label}" for e, items in temperature_rows(tcfg, cfg["don_temperature"]).items() for label, _ in items}
    table5 = {grasping.ORACLE, *grasping.TABLE5_ROWS, grasping.CONTROL}
    assert {f"table1: {label}" for label in grasping.TABLE5_ROWS.values()} <= set(table), profile  # don_grasp's models
    return table, set(exps), temp, table5


def _named(name: str) -> dict[str, list[str]]:
    return {c["id"]: untrained.rows_named(c["expr"]) for c in claims.load_spec(CLAIMS / name)["claims"]}


@pytest.mark.parametrize("profile", ["cpu", "paper"])
def test_every_claim_on_a_trained_experiment_finds_its_rows(profile):
    table, trained, temp, table5 = _rows(profile)
    named = _named("claims.yaml")
    of_trained = {i for i, rows in named.items() if {r.split(": ", 1)[0] for r in rows} <= trained}
    found = {i for i, rows in named.items() if set(rows) <= set(table)}
    assert found == of_trained, (sorted(of_trained - found), sorted(found - of_trained))
    for name, rows in (("claims_temperature.yaml", temp), ("claims_table5.yaml", table5)):
        missing = {i: sorted(set(r) - rows) for i, r in _named(name).items() if not set(r) <= rows}
        assert not missing, (name, missing)
    if profile == "paper":
        assert found == set(named)  # every experiment trained: every claim evaluated
    else:  # cpu trains Table I and Fig. 5: their claims are all found, and they are not all of them
        assert trained == {"table1", "fig5"} and any(r.startswith("fig5: ") for i in found for r in named[i])
        assert found and found != set(named)


@pytest.mark.parametrize("profile", ["smoke", "paper"])
def test_the_profiles_that_train_every_experiment_list_them_all(profile):
    from robopercept.don.config import EXPERIMENTS

    assert load_profile(profile)["don_train"]["experiments"] == list(EXPERIMENTS)
