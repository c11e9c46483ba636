"""Print one annotation batch for reading: `python3 scripts/annotation/show.py batch_003`."""

import json
import sys
from pathlib import Path

name = sys.argv[1]
for i, line in enumerate((Path("data/annotation/batches") / f"{name}.jsonl").open(encoding="utf-8")):
    r = json.loads(line)
    print(f"=== [{i}] id={r['id']} source={r['source']}")
    print(r["text"])
    print()
