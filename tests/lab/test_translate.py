"""Translation data, split, BLEU/chrF and training: tiny configs on a tiny Tatoeba-format file."""

from __future__ import annotations

import pytest
import torch

from memlm.lab import translate_data as td
from memlm.lab.bleu import corpus_bleu, corpus_chrf
from memlm.lab.translate import (
    TranslateConfig,
    evaluate_translation,
    load_translation,
    train_translation,
    translate_text,
)

SUBJ = [("I", "我"), ("you", "你"), ("he", "他"), ("she", "她"), ("we", "我们")]
VERB = [("love", "爱"), ("see", "看见"), ("help", "帮助"), ("know", "认识")]


def write_tiny(path):
    lines = [f"{a} {v} {b}.\t{za}{zv}{zb}。\tCC-BY 2.0 (France) test"
             for a, za in SUBJ for v, zv in VERB for b, zb in SUBJ]
    lines.append(f"{lines[0].split(chr(9))[0]}\t我爱我！\tsecond translation of the first sentence")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_tokenizers_and_vocab() -> None:
    assert td.tokenize_en("Don't GO, Tom!") == ["don", "'", "t", "go", ",", "tom", "!"]
    assert td.tokenize_zh("我 爱你。") == ["我", "爱", "你", "。"]
    vocab = td.Vocab(td.build_vocab(["我爱你", "你爱我", "他"], "zh", min_count=2), "zh")
    assert vocab.itos[:4] == ["<pad>", "<unk>", "<bos>", "<eos>"] and "他" not in vocab.stoi
    assert vocab.decode(vocab.encode("他爱你")) == "<unk>爱你"


def test_split_keeps_english_sentences_apart(tmp_path) -> None:
    pairs = td.load_pairs(write_tiny(tmp_path / "cmn.txt"))
    split = td.split_pairs(pairs, seed=5, valid=0.1, test=0.2)
    english = {k: {en for en, _ in v} for k, v in split.items()}
    assert not english["train"] & english["test"] and not english["train"] & english["valid"]
    assert not english["valid"] & english["test"]
    assert sum(len(v) for v in split.values()) == len(pairs) and english["test"]
    assert split == td.split_pairs(pairs, seed=5, valid=0.1, test=0.2)  # fixed by the seed


def test_real_split_has_no_test_sentence_in_training() -> None:
    path = td.default_path()
    if not path.exists():
        pytest.skip("the Tatoeba file is not on this machine")
    split = td.split_pairs(td.load_pairs(path))
    train_en = {en for en, _ in split["train"]}
    assert len(split["test"]) > 1000 and not any(en in train_en for en, _ in split["test"])


def test_bleu_and_chrf_known_pairs() -> None:
    refs = ["the cat sat on the mat .", "我 爱 你"]
    assert corpus_bleu(refs, refs) == pytest.approx(100.0)
    assert corpus_bleu(refs, refs, "13a") == pytest.approx(100.0)
    assert corpus_chrf(refs, refs) == pytest.approx(100.0) and corpus_chrf(refs, refs) == pytest.approx(100.0)
    assert corpus_bleu(["我爱你们"], ["我爱你们"], "zh") == pytest.approx(100.0)
    ref = ["我明天不想去学校上课"]
    assert corpus_bleu(["我明天想去学校"], ref, "zh") < corpus_bleu(["我明天不想去学校"], ref, "zh") < 100
    assert corpus_bleu(["a b c d"], ["w x y z"], "13a") == 0.0 and corpus_chrf(["abc"], ["xyz"]) < 1e-6


def test_train_reload_translate_evaluate(tmp_path) -> None:
    data = write_tiny(tmp_path / "cmn.txt")
    cfg = TranslateConfig(model="gru-attn", direction="en-zh", data=str(data), min_count=1, max_iters=40,
                          batch_size=16, lr=1e-2, warmup_iters=2, eval_interval=20, out_dir=str(tmp_path))
    res = train_translation(cfg, {"n_embd": 16, "n_hidden": 32, "dropout": 0.0})
    curve = res["curve"]
    assert res["iters"] == 40 and curve[-1]["train_loss"] < curve[0]["train_loss"] + 1
    assert res["valid_loss"] < 3.5  # from ln(vocab) ~ 3.3 + the first steps' noise: it learned
    model, ckpt = load_translation(res["checkpoint"])  # no flags: config and vocabularies from the file
    assert ckpt["model_name"] == "seq2seq-gru-attn" and ckpt["src_vocab"].lang == "en"
    out = translate_text(model, ckpt, "I love you.", beam=3)
    assert out["translation"] and all(not ch.isascii() or ch == "<" for ch in out["translation"][:1])
    greedy = translate_text(model, ckpt, "I love you.", beam=1)["translation"]
    assert isinstance(greedy, str)
    with pytest.raises(ValueError, match="empty"):
        translate_text(model, ckpt, "   ")
    with pytest.raises(ValueError, match="vocabulary"):
        translate_text(model, ckpt, "zzz qqq")
    ev = evaluate_translation(model, ckpt)
    assert ev["test_sentences"] == len({en for en, _ in td.split_pairs(td.load_pairs(data))["test"]})
    assert 0 <= ev["bleu"] <= 100 and 0 <= ev["chrf"] <= 100 and ev["bleu_tokenize"] == "zh"
    assert sum(b["sentences"] for b in ev["by_length"]) == ev["test_sentences"]


@pytest.mark.parametrize("model", ["gru", "transformer"])
def test_other_models_train_zh_en(tmp_path, model) -> None:
    data = write_tiny(tmp_path / "cmn.txt")
    cfg = TranslateConfig(model=model, direction="zh-en", data=str(data), min_count=1, max_iters=30,
                          batch_size=16, lr=5e-3, warmup_iters=2, eval_interval=10, out_dir=str(tmp_path))
    kw = {"n_layer": 1, "n_head": 2, "n_embd": 16} if model == "transformer" else {"n_embd": 16, "n_hidden": 32}
    res = train_translation(cfg, kw)
    losses = [c["valid_loss"] for c in res["curve"]]
    assert min(losses[1:]) < losses[0]
    net, ckpt = load_translation(res["checkpoint"])
    assert evaluate_translation(net, ckpt, limit=3)["bleu_tokenize"] == "13a"
    torch.manual_seed(0)
