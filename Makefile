# Two commands do everything (README):  make repro   |   make test
# Both create .venv if missing, install the package, register the Jupyter kernel and materialize
# data/ first. Every target is idempotent.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec
VENV ?= .venv
PY := $(VENV)/bin/python
KERNEL := robopercept
export PATH := $(abspath $(VENV))/bin:$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# --dist loadfile: a test file's tests run on one worker, so a paper's smoke pipeline (a session fixture, minutes)
# is built once per file that uses it, not again by an idle worker that took some of its tests (plain `load` did:
# measured in session 30, mlgsl's built on both workers). Not loadgroup: xdist 3.8 renames node ids through
# `item._nodeid`, which pytest 9 no longer reads, so its groups are silently ignored
PYTEST_ARGS ?= -n 2 --dist loadfile --durations=25  # the slowest tests, every run: the suite must stay well under 20 min
# pip on the project machines warns about each local index folder it skips; hide only that noise
PIP_FILTER := { grep -v "is ignored: it is neither a file nor a directory" || true; }

.PHONY: help setup data check-paper repro test notebooks profile dag clean-reports site grade

help:
	@echo "make repro   set up, materialize data/, run 'dvc repro' on the profile in params.yaml (default: cpu)"
	@echo "make repro PAPER=mlgsl   one paper's stages and the shared stages they need"
	@echo "make test    set up, materialize data/, run the whole test suite (smoke profile, temp dirs)"
	@echo "make profile P=paper   switch params.yaml to a profile (smoke | cpu | paper)"
	@echo "make notebooks         re-sync the paired .ipynb/.py notebooks and strip outputs"
	@echo "make site              build the static site from the committed reports/ into build/site/html (no notebook runs)"
	@echo "make grade [EX=<id>]   in a course copy (python -m robopercept.teach build DIR): grade the exercises"

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -e '.[dev]' 2>&1 | $(PIP_FILTER)
	@touch $@

# One BLAS code path on every x86 machine (README "Stages", "Across machines"). OpenBLAS (numpy's BLAS) picks its
# kernels by CPU: on AVX-512 machines its SkylakeX kernels round dot products and 1-D norms differently from the AVX2
# kernels every AMD Zen and Intel machine since Haswell runs, and the simulated datasets changed between machines
# with it. Pinned to the Haswell kernels where the CPU has AVX2 and FMA (forcing them elsewhere would crash), for
# everything make runs and, through the Jupyter kernel's env, for every stage notebook even when `dvc repro` is
# called without make. The kernel spec depends on this Makefile so an existing .venv picks a change up.
BLAS_CORETYPE := $(shell grep -qw avx2 /proc/cpuinfo 2>/dev/null && grep -qw fma /proc/cpuinfo 2>/dev/null && echo Haswell)
ifneq ($(BLAS_CORETYPE),)
export OPENBLAS_CORETYPE := $(BLAS_CORETYPE)
KERNEL_ENV := --env OPENBLAS_CORETYPE $(BLAS_CORETYPE)
endif

$(VENV)/share/jupyter/kernels/$(KERNEL)/kernel.json: $(VENV)/.installed Makefile
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python ($(KERNEL))" $(KERNEL_ENV)

setup: $(VENV)/.installed $(VENV)/share/jupyter/kernels/$(KERNEL)/kernel.json

data: setup
	$(PY) -m robopercept.data materialize

# PAPER=<name> runs one paper's stages (its notebooks/<name>/, stages named <name>_* in dvc.yaml) and the shared
# stages they need (pretrained_backbone); `dvc status` after it lists the other papers' stages, untouched.
PAPER ?=
check-paper:
ifneq ($(strip $(PAPER)),)
	@test -d notebooks/$(PAPER) || { echo "make repro: unknown PAPER '$(PAPER)'; papers: $$(cd notebooks && ls -d */ | tr -d / | tr '\n' ' ')" >&2; exit 2; }
endif

repro: check-paper data
ifeq ($(strip $(PAPER)),)
	dvc repro
	@dvc status
else
	dvc repro --glob '$(PAPER)_*'
	@dvc status
endif

test: data
	$(PY) -m pytest $(PYTEST_ARGS)

profile: setup
	$(PY) -m robopercept profile $(P)

notebooks: setup
	jupytext --sync notebooks/*.py notebooks/*/*.py 2>/dev/null || jupytext --sync notebooks/*.py
	$(PY) -m robopercept.reporting.strip notebooks

dag: setup
	dvc dag

# The site is rebuilt exactly when what it reads changes: reports/ (DVC's outputs, committed or freshly written by
# dvc repro), dvc.yaml (which notebook is which stage), the source notebooks (shown unexecuted when their stage has
# not run), its own code, and what `robopercept.reporting.freshness` compares to decide which stages are current
# (dvc.lock, params.yaml, data.dvc and every module under src/). Files on disk, not git's list: a new report counts
# before it is committed.
SITE_INPUTS := dvc.yaml dvc.lock params.yaml data.dvc $(shell find reports notebooks src -type f \
	-not -path '*/__pycache__/*' -not -path '*/.ipynb_checkpoints/*' -not -path '*.egg-info/*' 2>/dev/null)
build/site/html/index.html: $(SITE_INPUTS) $(VENV)/.installed
	$(PY) -m robopercept.site build build/site

site: setup build/site/html/index.html
	@echo "open build/site/html/index.html (works offline, from the folder)"

# Graded exercises (README "For instructors"): in a course copy made by `python -m robopercept.teach build DIR`,
# `make grade` runs exactly the tests that grade the exercises; EX=<id> grades one. The grading tests are unit tests:
# no data/ needed (and a course copy is not a git checkout, which `make data`'s dvc steps would want).
grade: setup
	$(PY) -m robopercept.teach grade $(if $(EX),--exercise $(EX))
