#!/usr/bin/env bash
# The main job: set up (first run only), then show the taxonomy.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cxnlp labels
