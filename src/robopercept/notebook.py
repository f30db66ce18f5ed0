"""One setup call at the top of every notebook: ``run = setup("<stage>", params, ...)``.

It does what every notebook needs before its first computation, in one place:

* takes the stage's params.yaml sections handed over by ``robopercept.stage`` (or, when the notebook
  is opened in Jupyter with ``params = {}``, reads them from params.yaml itself), validates each
  one into its config dataclass (``run.config["graspseg_data"]``, ...);
* seeds Python, NumPy and torch (``run.seed``) and sets the figure style;
* resolves the folders: ``run.data``, ``run.datasets``, ``run.models`` (artifacts) and the paper's
  report folders ``run.tables``, ``run.figures``, ``run.metrics``, ``run.training``, ``run.timings``;
* makes the kernel exit if the process that started it dies (so a killed ``dvc repro`` leaves no
  kernel and no worker processes behind).
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from pathlib import Path
from typing import Any, Mapping

from . import paths
from .config import ConfigError, Validated, read_params, section_class

_WATCHDOG: list[threading.Thread] = []


def watch_parent(interval_s: float = 1.0) -> None:
    """Exit this process (and so its pool workers, which die with it) when its parent dies.

    Used by notebook kernels (their parent is the stage runner) and by the stage runner itself (its parent
    is ``dvc repro``): killing ``dvc`` alone then stops the whole chain instead of leaving a stage runner
    training on, orphaned, into the folder a rerun would use."""
    if _WATCHDOG:
        return
    parent = os.getppid()

    def _loop() -> None:
        while True:
            time.sleep(interval_s)
            if os.getppid() != parent:
                os._exit(1)

    t = threading.Thread(target=_loop, name="robopercept-parent-watchdog", daemon=True)
    t.start()
    _WATCHDOG.append(t)


@dataclasses.dataclass(frozen=True)
class Run:
    """The validated parameters and the folders of one notebook run."""

    stage: str
    paper: str
    profile: str
    seed: int
    config: Mapping[str, Validated]
    data: Path
    artifacts: Path
    reports: Path

    def __getitem__(self, section: str) -> Validated:
        try:
            return self.config[section]
        except KeyError:
            raise ConfigError(f"stage {self.stage} does not read params section {section!r} "
                              f"(it reads {', '.join(self.config)}); add it under the stage's params in dvc.yaml") from None

    def _report(self, kind: str) -> Path:
        p = self.reports / kind / self.paper
        p.mkdir(parents=True, exist_ok=True)
        return p

    @property
    def datasets(self) -> Path:
        return self.artifacts / "datasets"

    @property
    def models(self) -> Path:
        return self.artifacts / "models"

    @property
    def tables(self) -> Path:
        return self._report("tables")

    @property
    def figures(self) -> Path:
        return self._report("figures")

    @property
    def metrics(self) -> Path:
        return self._report("metrics")

    @property
    def training(self) -> Path:
        return self._report("training")

    @property
    def timings(self) -> Path:
        """``reports/timings/<paper>/``: wall-clock records, committed but never a DVC output."""
        return self._report("timings")

    def write_metrics(self, name: str, *, values: Mapping[str, Any] | None = None,
                      tables: Mapping[str, Any] | None = None, claims: Any = None) -> Path:
        """``reports/metrics/<paper>/<name>.json`` in the one shape every paper uses (see
        :func:`robopercept.reporting.tables.metrics_document`)."""
        from .reporting.tables import metrics_document, write_metrics

        doc = metrics_document(paper=self.paper, stage=self.stage, profile=self.profile, values=values,
                               tables=tables, claims=claims)
        return write_metrics(doc, self.metrics / f"{name}.json")

    def write_timings(self, name: str, record: Mapping[str, Any]) -> Path:
        import json

        fn = self.timings / f"{name}.json"
        fn.write_text(json.dumps(dict(record), indent=1, sort_keys=True, default=float) + "\n")
        return fn


def stage_sections(stage: str) -> tuple[str, ...]:
    from .stage import read_dvc_yaml

    stages = read_dvc_yaml()["stages"]
    if stage not in stages:
        raise ConfigError(f"no stage {stage!r} in dvc.yaml")
    return tuple(str(s) for s in stages[stage].get("params", []) or [])


def setup(stage: str, params: Mapping[str, Any], *, paper: str, data_dir: str = "data",
          artifacts_dir: str = "artifacts", reports_dir: str = "reports", seed_torch: bool = True) -> Run:
    """Validate the stage's parameters, seed, style the figures and resolve the folders."""
    from .reporting import figures
    from .seed import seed_everything

    if not params:  # opened in Jupyter: take the stage's sections from params.yaml
        whole = read_params()
        params = {"stage": stage, **{s: whole[s] for s in stage_sections(stage)}}
    if params.get("stage", stage) != stage:
        raise ConfigError(f"the parameters are for stage {params.get('stage')!r}, this notebook is stage {stage!r}")
    config = {name: section_class(name).from_mapping(value, name)
              for name, value in params.items() if name not in ("stage", "profile", "seed")}
    for key in ("profile", "seed"):
        if key not in params:
            raise ConfigError(f"stage {stage}: parameter {key} missing (list it under the stage's params in dvc.yaml)")
    seed = params["seed"]
    if seed_torch:
        seed_everything(seed)
    figures.use_style()
    watch_parent()
    return Run(stage=stage, paper=paper, profile=str(params["profile"]), seed=int(seed), config=config,
               data=paths.resolve(data_dir), artifacts=paths.resolve(artifacts_dir), reports=paths.resolve(reports_dir))
