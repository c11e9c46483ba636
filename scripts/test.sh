#!/usr/bin/env bash
# The test suite: set up (first run only), lint, then pytest.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
ruff check .
ruff format --check .
# pytest exits 5 when it collected no test: that is a failure here too.
python -m pytest "$@"
