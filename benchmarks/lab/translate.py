"""Translation benchmark: the three encoder-decoders on Tatoeba English <-> Chinese, BLEU by length.

Trains each model for a wall-clock budget (``--seconds``), evaluates greedy BLEU / chrF on the
held-out test split (and BLEU by source-length bucket), writes one JSON per model and direction to
benchmarks/lab/results/translate_MODEL_DIRECTION.json; ``--plot`` draws the BLEU-by-length figure
from those files and the gru-attn attention heatmap for one sentence.

Run: PYTHONPATH=src python benchmarks/lab/translate.py --models gru gru-attn transformer --direction en-zh --seconds 480
     PYTHONPATH=src python benchmarks/lab/translate.py --models gru --direction en-zh --max-iters 1285 --tag steps1285
     PYTHONPATH=src python benchmarks/lab/translate.py --plot
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "lab"
# settings sized for a few minutes on a busy 2-core CPU
MODEL_KW = {
    "gru": {"n_embd": 128, "n_hidden": 192},
    "gru-attn": {"n_embd": 128, "n_hidden": 192},
    "transformer": {"n_layer": 3, "n_embd": 192, "n_head": 4},
}
LR = {"gru": 2e-3, "gru-attn": 2e-3, "transformer": 1e-3}
SENTENCE = {"en-zh": "I don't want to go to school tomorrow.", "zh-en": "我明天不想去学校。"}


def run(model: str, direction: str, seconds: float, out_dir: str, limit: int = 0, eval_only: bool = False,
        max_iters: int = 0, tag: str = "") -> dict:
    from memlm.lab.translate import TranslateConfig, evaluate_translation, load_translation, train_translation

    out_dir = str(Path(out_dir) / tag) if tag else out_dir  # a tagged run keeps its own checkpoint
    path = Path(out_dir) / f"translate-{model}-{direction}.pt"
    if not eval_only:
        steps = {"max_iters": max_iters, "max_seconds": 0.0} if max_iters else {"max_seconds": seconds}
        cfg = TranslateConfig(model=model, direction=direction, lr=LR[model], out_dir=out_dir, **steps)
        train_translation(cfg, MODEL_KW[model])
    net, ckpt = load_translation(path)
    res = ckpt["result"]
    ev = evaluate_translation(net, ckpt, limit=limit)
    budget = {"budget_iters": max_iters} if max_iters else {"budget_seconds": seconds}
    out = {"model": model, "direction": direction, "tag": tag, **budget, "model_kwargs": MODEL_KW[model],
           "lr": LR[model], **{k: v for k, v in res.items() if k != "module"}, "eval": ev}
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = f"translate_{model}_{direction}{'_' + tag if tag else ''}.json"
    (RESULTS / name).write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps({k: out[k] for k in ("model", "direction", "iters", "seconds", "valid_loss")}
                     | {"bleu": ev["bleu"], "chrf": ev["chrf"], "test": ev["test_sentences"]}), flush=True)
    return out


def plot(out_dir: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    DOCS.mkdir(parents=True, exist_ok=True)
    files = sorted(RESULTS.glob("translate_*_*.json"))
    results = [json.loads(f.read_text()) for f in files]
    for direction in ("en-zh", "zh-en"):
        rows = [r for r in results if r["direction"] == direction]
        if not rows:
            continue
        fig, ax = plt.subplots(figsize=(6, 4))
        for r in rows:
            buckets = r["eval"]["by_length"]
            ax.plot([b["bucket"] for b in buckets], [b["bleu"] for b in buckets], marker="o",
                    label=f"{label(r)} (BLEU {r['eval']['bleu']})")
        ax.set_xlabel("source length (tokens)")
        ax.set_ylabel("BLEU (greedy, test split)")
        ax.set_title(f"Tatoeba {direction}: BLEU by source length")
        ax.legend()
        fig.tight_layout()
        fig.savefig(DOCS / f"translate_bleu_by_length_{direction}.png", dpi=120)
        plt.close(fig)
        print(markdown_table(rows))
    for direction in ("en-zh", "zh-en"):
        path = Path(out_dir) / f"translate-gru-attn-{direction}.pt"
        if path.exists():
            heatmap(path, SENTENCE[direction], DOCS / f"translate_attention_{direction}.png")


def markdown_table(rows: list[dict]) -> str:
    buckets = [b["bucket"] for b in rows[0]["eval"]["by_length"]]
    counts = [str(b["sentences"]) for b in rows[0]["eval"]["by_length"]]
    lines = ["| model | iters | BLEU | chrF | " + " | ".join(f"len {b}" for b in buckets) + " |",
             "|---" * (4 + len(buckets)) + "|",
             "| (test sentences) | | " + str(rows[0]["eval"]["test_sentences"]) + " | | " + " | ".join(counts) + " |"]
    for r in rows:
        lines.append(f"| {label(r)} | {r['iters']} | {r['eval']['bleu']} | {r['eval']['chrf']} | "
                     + " | ".join(str(b["bleu"]) for b in r["eval"]["by_length"]) + " |")
    return "\n".join(lines)


def label(result: dict) -> str:
    """The model's name, and the run's tag when it is not the default run."""
    return f"{result['model']} [{result['tag']}]" if result.get("tag") else result["model"]


def heatmap(checkpoint: Path, sentence: str, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from memlm.lab.translate import attention_for, load_translation

    net, ckpt = load_translation(checkpoint)
    att = attention_for(net, ckpt, sentence)
    print(json.dumps({"source": list(enumerate(att["source"])), "target": list(enumerate(att["target"]))},
                     ensure_ascii=False))
    translation = "".join(att["target"][:-1])
    # no CJK font on the lab machine: Chinese tokens are labelled by position (the mapping is printed)
    for side in ("source", "target"):
        att[side] = [t if t.isascii() else f"{i}" for i, t in enumerate(att[side])]
    fig, ax = plt.subplots(figsize=(1 + 0.5 * len(att["source"]), 1 + 0.45 * len(att["target"])))
    ax.imshow(att["weights"], cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(att["source"])), att["source"], rotation=60)
    ax.set_yticks(range(len(att["target"])), att["target"])
    ax.set_xlabel("source")
    ax.set_ylabel("target (greedy output)")
    ax.set_title(f"{ckpt['model_name']} attention")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    print(json.dumps({"heatmap": str(out), "translation": translation}, ensure_ascii=False))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["gru", "gru-attn", "transformer"], choices=list(MODEL_KW))
    p.add_argument("--direction", default="en-zh", choices=["en-zh", "zh-en"])
    p.add_argument("--seconds", type=float, default=480.0, help="training budget per model")
    p.add_argument("--out", default="out/lab/translate", help="checkpoint folder")
    p.add_argument("--max-iters", type=int, default=0,
                   help="a step budget instead of --seconds (the schedule follows steps), e.g. for equal-steps runs")
    p.add_argument("--tag", default="", help="suffix of the result file and checkpoint folder (keeps the default runs)")
    p.add_argument("--limit", type=int, default=0, help="evaluate on this many test sentences (0 = all)")
    p.add_argument("--eval-only", action="store_true", help="evaluate the saved checkpoints, no training")
    p.add_argument("--plot", action="store_true", help="only draw the figures from the saved results")
    args = p.parse_args()
    if args.plot:
        plot(args.out)
        return
    for model in args.models:
        run(model, args.direction, args.seconds, args.out, args.limit, args.eval_only, args.max_iters, args.tag)


if __name__ == "__main__":
    main()
