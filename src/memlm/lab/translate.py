"""Train, evaluate and use the lab's translation models (Tatoeba English <-> Chinese).

`train_translation` runs the lab's optimiser (lab/optim.py: AdamW, warmup and cosine decay,
following the clock when a time budget is set) on random batches of the train split, keeps the
weights with the best validation loss and writes a checkpoint holding the model config,
both vocabularies and the data split's settings, so it reloads with no flags.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from memlm.lab import translate_data as td
from memlm.lab.bleu import backend, corpus_bleu, corpus_chrf
from memlm.lab.optim import OptimConfig, make_optimizer, optimise, set_lr
from memlm.nn import config_fields, get_model, n_params
from memlm.nn.seq2seq import UNK, attention_map, beam_decode, greedy_decode

FORMAT = "memlm-lab-1"  # the lab checkpoint format (memlm.lab.checkpoint)
TASK = "translate"
MODELS = {"gru": "seq2seq-gru", "gru-attn": "seq2seq-gru-attn", "transformer": "seq2seq-transformer"}
BUCKETS = ((1, 4), (5, 6), (7, 8), (9, 11), (12, 1000))  # source length in tokens (EOS excluded)


@dataclass
class TranslateConfig(OptimConfig):
    """Translation training; the optimiser's fields are OptimConfig's, four with their own defaults."""

    lr: float = 2e-3  # OptimConfig.lr (peak learning rate), for these models
    warmup_iters: int = 200  # OptimConfig.warmup_iters, for these models
    weight_decay: float = 0.01  # OptimConfig.weight_decay, for these models
    beta2: float = 0.98  # OptimConfig.beta2, for these models
    model: str = "gru-attn"  # gru, gru-attn or transformer (or a registry name seq2seq-*)
    direction: str = "en-zh"  # en-zh or zh-en
    data: str = ""  # the Tatoeba cmn.txt file (default: shared/data/tatoeba-cmn/cmn.txt)
    split_seed: int = 1234  # seed of the split by English sentence
    min_count: int = 2  # tokens seen fewer times in the train split become <unk>
    max_len: int = 60  # longest source or target in tokens (longer training pairs are skipped)
    max_iters: int = 100000  # optimisation steps (a time budget usually ends training first)
    max_seconds: float = 0.0  # wall-clock budget; the schedule follows time when set (0 = off)
    batch_size: int = 64  # sentence pairs per step
    eval_interval: int = 200  # validation loss every this many steps (and at the end)
    eval_pairs: int = 512  # validation pairs per evaluation
    seed: int = 1337  # seeds model init and batches
    num_threads: int = 1  # torch CPU threads
    out_dir: str = "out/lab"  # where the checkpoint goes
    checkpoint: str = ""  # checkpoint file name (default translate-MODEL-DIRECTION.pt)


def registry_name(model: str) -> str:
    if model in MODELS:
        return MODELS[model]
    if model in MODELS.values():
        return model
    raise ValueError(f"unknown translation model {model!r}; choose from {', '.join(MODELS)}")


def split_overrides(overrides: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """--key=value options -> (TranslateConfig kwargs, model config kwargs); 'model.x' forces the model."""
    train_keys = set(TranslateConfig.__dataclass_fields__)
    train_kw, model_kw = {}, {}
    for key, value in overrides.items():
        if key.startswith("model."):
            model_kw[key[6:]] = value
        elif key.startswith("train."):
            train_kw[key[6:]] = value
        elif key in train_keys:
            train_kw[key] = value
        else:
            model_kw[key] = value
    return train_kw, model_kw


def prepare(cfg: TranslateConfig) -> dict[str, Any]:
    """The split (as (source, target) pairs) and the vocabularies built on its train part."""
    src_lang, tgt_lang = td.langs(cfg.direction)
    split = td.split_pairs(td.load_pairs(cfg.data or None), seed=cfg.split_seed)
    oriented = {k: td.orient(v, cfg.direction) for k, v in split.items()}
    src_vocab = td.Vocab(td.build_vocab([s for s, _ in oriented["train"]], src_lang, cfg.min_count), src_lang)
    tgt_vocab = td.Vocab(td.build_vocab([t for _, t in oriented["train"]], tgt_lang, cfg.min_count), tgt_lang)
    return {"split": oriented, "src_vocab": src_vocab, "tgt_vocab": tgt_vocab}


def build(cfg: TranslateConfig, src_vocab: td.Vocab, tgt_vocab: td.Vocab, model_kw: dict[str, Any]):
    name = registry_name(cfg.model)
    config_cls, model_cls = get_model(name)
    unknown = set(model_kw) - config_fields(config_cls)
    if unknown:
        raise ValueError(f"unknown {name} config fields: {sorted(unknown)}")
    kw = {"src_vocab_size": len(src_vocab.itos), "tgt_vocab_size": len(tgt_vocab.itos), **model_kw}
    if "block_size" in config_fields(config_cls):
        kw.setdefault("block_size", cfg.max_len + 1)
    config = config_cls(**kw)
    return name, config, model_cls(config)


@torch.no_grad()
def valid_loss(model: torch.nn.Module, data: dict[str, Any], cfg: TranslateConfig) -> float:
    model.eval()
    pairs = data["split"]["valid"][: cfg.eval_pairs]
    total, n = 0.0, 0
    for i in range(0, len(pairs), 128):
        src, tgt_in, tgt = td.make_batch(data["src_vocab"], data["tgt_vocab"], pairs[i:i + 128], cfg.max_len + 1)
        _, loss = model(src, tgt_in, tgt)
        total, n = total + float(loss) * len(pairs[i:i + 128]), n + len(pairs[i:i + 128])
    model.train()
    return total / max(1, n)


def train_translation(cfg: TranslateConfig, model_kw: dict[str, Any] | None = None, progress: bool = False,
                      save: bool = True, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train one model; returns a summary (and the model under 'module')."""
    from tqdm import tqdm

    torch.set_num_threads(cfg.num_threads)
    torch.manual_seed(cfg.seed)
    data = data or prepare(cfg)
    name, config, model = build(cfg, data["src_vocab"], data["tgt_vocab"], model_kw or {})
    opt = make_optimizer(model, cfg)
    train = [p for p in data["split"]["train"]
             if len(td.tokenize(p[0], data["src_vocab"].lang)) < cfg.max_len
             and len(td.tokenize(p[1], data["tgt_vocab"].lang)) < cfg.max_len]
    rng = random.Random(cfg.seed)
    best, best_state, curve = math.inf, None, []
    t0, it, loss_value = time.time(), 0, math.nan
    bar = tqdm(total=cfg.max_iters if not cfg.max_seconds else None, disable=not progress, desc="train", leave=False)
    model.train()
    while it < cfg.max_iters:
        elapsed = time.time() - t0
        if cfg.max_seconds and elapsed >= cfg.max_seconds:
            break
        frac = elapsed / cfg.max_seconds if cfg.max_seconds else it / cfg.max_iters
        set_lr(opt, it, frac, cfg)
        batch = rng.sample(train, min(cfg.batch_size, len(train)))
        src, tgt_in, tgt = td.make_batch(data["src_vocab"], data["tgt_vocab"], batch, cfg.max_len + 1)
        _, loss = model(src, tgt_in, tgt)
        optimise(model, opt, loss, cfg)
        it, loss_value = it + 1, float(loss.detach())
        bar.update(1)
        bar.set_postfix(loss=f"{loss_value:.3f}")
        if it % cfg.eval_interval == 0:
            vl = valid_loss(model, data, cfg)
            curve.append({"iter": it, "seconds": round(time.time() - t0, 1), "train_loss": loss_value,
                          "valid_loss": vl})
            if vl < best:
                best, best_state = vl, {k: v.detach().clone() for k, v in model.state_dict().items()}
    bar.close()
    vl = valid_loss(model, data, cfg)
    curve.append({"iter": it, "seconds": round(time.time() - t0, 1), "train_loss": loss_value, "valid_loss": vl})
    if vl > best and best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    result = {"model": name, "direction": cfg.direction, "params": n_params(model), "iters": it,
              "seconds": round(time.time() - t0, 1), "train_loss": loss_value, "valid_loss": min(vl, best),
              "train_pairs": len(train), "src_vocab": len(data["src_vocab"].itos),
              "tgt_vocab": len(data["tgt_vocab"].itos), "curve": curve, "checkpoint": None}
    if save:
        path = Path(cfg.out_dir) / (cfg.checkpoint or f"translate-{cfg.model}-{cfg.direction}.pt")
        save_translation(path, model, name, config, cfg, data, result)
        result["checkpoint"] = str(path)
    result["module"] = model
    return result


def save_translation(path: str | Path, model: torch.nn.Module, name: str, config: Any, cfg: TranslateConfig,
                     data: dict[str, Any], result: dict[str, Any]) -> Path:
    """A lab checkpoint (memlm.lab.checkpoint's format) whose vocab holds both vocabularies."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({
        "format": FORMAT, "model_name": name, "model_config": asdict(config), "train_config": asdict(cfg),
        "task": {"name": TASK, "kwargs": {"direction": cfg.direction, "split_seed": cfg.split_seed,
                                          "max_len": cfg.max_len, "data": cfg.data}},
        "vocab": {"src": data["src_vocab"].itos, "tgt": data["tgt_vocab"].itos,
                  "src_lang": data["src_vocab"].lang, "tgt_lang": data["tgt_vocab"].lang},
        "state_dict": model.state_dict(),
        "result": {k: v for k, v in result.items() if k not in ("module", "curve")},
    }, path)
    return path


def load_translation(path: str | Path) -> tuple[torch.nn.Module, dict[str, Any]]:
    """(model, checkpoint) for a translation checkpoint; ValueError for any other file."""
    from memlm.lab.checkpoint import open_checkpoint

    model, ckpt = open_checkpoint(path)
    if ckpt.get("task", {}).get("name") != TASK:
        raise ValueError(f"{path} is a {ckpt['model_name']} checkpoint for {ckpt['task']['name']}, "
                         "not a translation model")
    ckpt["src_vocab"] = td.Vocab(ckpt["vocab"]["src"], ckpt["vocab"]["src_lang"])
    ckpt["tgt_vocab"] = td.Vocab(ckpt["vocab"]["tgt"], ckpt["vocab"]["tgt_lang"])
    return model, ckpt


def translate_text(model: torch.nn.Module, ckpt: dict[str, Any], text: str, beam: int = 1,
                   alpha: float = 1.0) -> dict[str, Any]:
    """Translate one sentence; ValueError for empty text or text with no known token."""
    src_vocab, tgt_vocab = ckpt["src_vocab"], ckpt["tgt_vocab"]
    if not text.strip():
        raise ValueError("give a sentence to translate (the text is empty)")
    ids = src_vocab.encode(text)
    if not ids or all(i == UNK for i in ids):
        raise ValueError(f"none of the text's tokens are in the model's {src_vocab.lang} vocabulary")
    max_len = ckpt["task"]["kwargs"].get("max_len", 60)
    src = torch.tensor([td.source_ids(src_vocab, text, max_len + 1)])
    out = beam_decode(model, src, beam=beam, max_len=max_len, alpha=alpha) if beam > 1 \
        else greedy_decode(model, src, max_len=max_len)[0]
    unknown = sorted({t for t in td.tokenize(text, src_vocab.lang) if t not in src_vocab.stoi})
    return {"model": ckpt["model_name"], "direction": ckpt["task"]["kwargs"]["direction"], "source": text,
            "translation": tgt_vocab.decode(out), "beam": beam, "unknown_tokens": unknown}


def heldout_pairs(ckpt: dict[str, Any]) -> list[tuple[str, str]]:
    """The held-out test split, (source, target), for the checkpoint's direction and seed."""
    kw = ckpt["task"]["kwargs"]
    split = td.split_pairs(td.load_pairs(kw.get("data") or None), seed=kw["split_seed"])
    return td.orient(split["test"], kw["direction"])


def references(pairs: list[tuple[str, str]], tgt_lang: str) -> dict[str, list[str]]:
    """Source -> all its target references (English ones in the tokenised, lower-cased form scored)."""
    refs: dict[str, list[str]] = {}
    for s, t in pairs:
        refs.setdefault(s, []).append(td.detokenize(td.tokenize(t, tgt_lang), tgt_lang))
    return refs


def evaluate_translation(model: torch.nn.Module, ckpt: dict[str, Any], limit: int = 0, batch_size: int = 128,
                         beam: int = 1) -> dict[str, Any]:
    """BLEU and chrF on the test split (one hypothesis per distinct source; its first reference), and
    BLEU by source-length bucket. English output is scored lower-cased and tokenised as trained."""
    src_vocab, tgt_vocab = ckpt["src_vocab"], ckpt["tgt_vocab"]
    max_len = ckpt["task"]["kwargs"].get("max_len", 60)
    refs = references(heldout_pairs(ckpt), tgt_vocab.lang)
    sources = sorted(refs, key=lambda s: len(td.tokenize(s, src_vocab.lang)))
    if limit:
        sources = random.Random(0).sample(sources, min(limit, len(sources)))
        sources.sort(key=lambda s: len(td.tokenize(s, src_vocab.lang)))
    hyps: list[str] = []
    for i in range(0, len(sources), batch_size):
        chunk = sources[i:i + batch_size]
        if beam > 1:
            outs = [beam_decode(model, torch.tensor([td.source_ids(src_vocab, s, max_len + 1)]), beam=beam,
                                max_len=max_len) for s in chunk]
        else:
            src = td.pad_batch([td.source_ids(src_vocab, s, max_len + 1) for s in chunk])
            outs = greedy_decode(model, src, max_len=max_len)
        hyps += [tgt_vocab.decode(o) for o in outs]
    first = [refs[s][0] for s in sources]
    tok = "zh" if tgt_vocab.lang == "zh" else "13a"
    by_length = []
    for lo, hi in BUCKETS:
        idx = [i for i, s in enumerate(sources) if lo <= len(td.tokenize(s, src_vocab.lang)) <= hi]
        if idx:
            by_length.append({"bucket": f"{lo}-{hi}" if hi < 1000 else f"{lo}+", "sentences": len(idx),
                              "bleu": round(corpus_bleu([hyps[i] for i in idx], [first[i] for i in idx], tok), 2)})
    examples = [{"source": s, "reference": first[i], "hypothesis": hyps[i]}
                for i, s in list(enumerate(sources))[:: max(1, len(sources) // 5)]]
    return {"model": ckpt["model_name"], "direction": ckpt["task"]["kwargs"]["direction"],
            "test_sentences": len(sources), "decoding": f"beam {beam}" if beam > 1 else "greedy",
            "bleu": round(corpus_bleu(hyps, first, tok), 2), "chrf": round(corpus_chrf(hyps, first), 2),
            "bleu_tokenize": tok, "metric_backend": backend(), "by_length": by_length, "examples": examples}


def attention_for(model: torch.nn.Module, ckpt: dict[str, Any], text: str) -> dict[str, Any]:
    """Greedy translation of text and the decoder's attention (target x source) while producing it."""
    src_vocab, tgt_vocab = ckpt["src_vocab"], ckpt["tgt_vocab"]
    src = torch.tensor([td.source_ids(src_vocab, text)])
    out = greedy_decode(model, src)[0]
    attn = attention_map(model, src, out)
    return {"source": [src_vocab.itos[i] for i in src[0].tolist()],
            "target": [tgt_vocab.itos[i] for i in out] + ["<eos>"],
            "weights": None if attn is None else attn.tolist()}
