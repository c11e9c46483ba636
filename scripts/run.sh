#!/usr/bin/env bash
# The main job: set up (first run only), then tag the bundled sample of real
# comments with the bundled default model and print a summary.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
mkdir -p out
cxnlp tag data/sample_comments.csv --out out/sample_comments.tagged.jsonl "$@"
python - <<'PY'
import json
rows = [json.loads(line) for line in open("out/sample_comments.tagged.jsonl", encoding="utf-8")]
shown = 0
for r in rows:
    if r["tags"] and shown < 5:
        shown += 1
        print(f"\n[{r['id']}] {r['comment'][:160]}...")
        for t in r["tags"]:
            print(f"   {t['key']:<18} {t['score']:.2f}  \"{t['evidence'][:90]}\"")
print(f"\n{sum(bool(r['tags']) for r in rows)} of {len(rows)} comments carry at least one tag;"
      " full output: out/sample_comments.tagged.jsonl")
PY
