"""The write gate on labelled fact pairs: per language, pairs right and losses.

    PYTHONPATH=src python benchmarks/gate/run.py                      # hashing encoder (fast)
    PYTHONPATH=src python benchmarks/gate/run.py --encoder minilm --out benchmarks/results/gate_minilm.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from memlm import Memory
from memlm.bench.gate import load_pairs, run, tatoeba_background

HERE = Path(__file__).resolve().parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", default=str(HERE / "pairs.jsonl"))
    ap.add_argument("--encoder", default="hashing", help="encoder spec (hashing, minilm, e5 ...)")
    ap.add_argument("--out", default=None, help="write the full result (with the wrong pairs) as JSON here")
    ap.add_argument("--background", type=int, default=0,
                    help="N: each owner also holds N Tatoeba sentences (../shared/data/tatoeba-cmn), not 4 fixed facts")
    ap.add_argument("--tatoeba", default=str(HERE.parents[1].parent / "shared" / "data" / "tatoeba-cmn" / "cmn.txt"))
    ap.add_argument("--show-wrong", action="store_true", help="print every pair the gate got wrong")
    args = ap.parse_args()
    pairs = load_pairs(args.pairs)
    with tempfile.TemporaryDirectory() as tmp, Memory(Path(tmp) / "gate.db", encoder=args.encoder) as mem:
        background = tatoeba_background(args.tatoeba, args.background) if args.background else None
        result = run(mem, pairs, background)
        encoder = mem.encoder.name
    for lang, s in sorted(result.items()):
        print(f"{lang}: {s['right']}/{s['pairs']} right ({100 * s['right_share']:.1f}%), losses {s['losses']}  "
              f"events per label {s['events']}")
        if args.show_wrong:
            for w in s["wrong"]:
                print(f"   {'LOSS ' if w['lost'] else ''}{w['label']} -> {w['got']}: {w['old']!r} / {w['new']!r}")
    if args.out:
        Path(args.out).write_text(json.dumps({"encoder": encoder, "pairs": args.pairs, "background": args.background,
                                              "result": result},
                                             ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return 0 if all(s["losses"] == 0 for s in result.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
