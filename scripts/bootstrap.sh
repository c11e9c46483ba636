#!/usr/bin/env bash
# Create .venv and install cxnlp with pinned dependencies, once.  Sourced by
# scripts/run.sh and scripts/test.sh so that each README command works on a
# fresh machine with nothing but Python installed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV="${CXNLP_VENV:-.venv}"
PY="$VENV/bin/python"
stamp="$VENV/.cxnlp-installed"
want="$(cat pyproject.toml requirements/constraints.txt | sha256sum | cut -d' ' -f1)"
if [ ! -x "$PY" ] || [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "cxnlp: setting up $VENV (first run only)..." >&2
  python3 -m venv "$VENV"
  pipargs=(-q --disable-pip-version-check -c requirements/constraints.txt)
  # The machine's CPU torch wheel lives in /opt/wheels; elsewhere PyPI's
  # +cpu-less 2.13.0 is used.  torch goes first and pinned: anything unpinned
  # would pull several GB of CUDA wheels.
  [ -d /opt/wheels ] && pipargs+=(--find-links /opt/wheels)
  "$PY" -m pip install "${pipargs[@]}" "torch==2.13.0"
  "$PY" -m pip install "${pipargs[@]}" -e ".[encoder,dev,spark]"
  echo "$want" >"$stamp"
fi
export PATH="$PWD/$VENV/bin:$PATH"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
