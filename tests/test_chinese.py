"""Chinese through the whole pipeline: speakers, time windows, question turns, chunking,
working-memory budgets, bad input (fast: the hashing encoder; the real encoders where the
tokenizer or semantics matter, see also test_crosslingual.py)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from memlm import Memory
from memlm.stores.base import Filters

NOW = datetime(2023, 6, 15, 20, 0, tzinfo=timezone.utc)  # a Thursday

CHAT = [  # (speaker, text, date)
    ("小明", "我昨天去了西湖边散步，风景很美。", "2023-06-14 18:00"),
    ("小红", "我昨天在家里看了一部电影。", "2023-06-14 19:00"),
    ("小明", "上个月我去了杭州的西湖。", "2023-05-20 10:00"),
    ("小红", "上个月我去了北京的故宫。", "2023-05-21 10:00"),
    ("小明", "你住在哪里？", "2023-06-01 09:00"),
    ("小红", "我住在上海浦东。", "2023-06-01 09:01"),
]


def add_chat(mem: Memory, user: str = "u") -> None:
    for speaker, text, when in CHAT:
        mem.add({"role": speaker, "content": text}, user_id=user, session_id="s1", occurred_at=when)


def test_a_chinese_question_gets_the_speaker_and_time_preferences(mem):
    add_chat(mem)
    hits = mem.search("小明昨天去了哪里？", user_id="u", k=6, now=NOW)
    by_text = {h.memory.text: h for h in hits}
    assert hits[0].memory.text == "我昨天去了西湖边散步，风景很美。"
    assert by_text["我昨天去了西湖边散步，风景很美。"].reasons["speaker"] > 0
    assert by_text["我昨天在家里看了一部电影。"].reasons["speaker"] == 0  # 小红's turn
    assert by_text["我昨天去了西湖边散步，风景很美。"].reasons["time"] == 1.0
    assert by_text["上个月我去了杭州的西湖。"].reasons["time"] == 0.0
    last_month = mem.search("小红上个月去了哪里？", user_id="u", k=1, now=NOW)[0]
    assert last_month.memory.text == "上个月我去了北京的故宫。"


def test_hit_reasons_are_the_same_parts_in_both_languages(mem):
    add_chat(mem)
    mem.add({"role": "Ana", "content": "I walked along the lake yesterday."}, user_id="u", session_id="s2",
            occurred_at="2023-06-14 08:00")
    zh = mem.search("小明昨天去了哪里？", user_id="u", k=3, now=NOW)
    en = mem.search("Where did Ana go yesterday?", user_id="u", k=3, now=NOW)
    assert {tuple(sorted(h.reasons)) for h in zh} == {tuple(sorted(h.reasons)) for h in en} == {
        ("context", "dense", "lexical", "speaker", "time")}


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_chinese_question_turn_counts_as_a_question(backend, tmp_path, request, hashing):
    target = tmp_path / "q.db" if backend == "sqlite" else request.getfixturevalue("pg_url")
    with Memory(target, encoder=hashing) as mem:
        add_chat(mem)
        mem.add({"role": "小明", "content": "你喜欢什么?"}, user_id="u", session_id="s1", occurred_at="2023-06-02")
        view = mem.store.owner(Filters(mem.tenant, "u"))
        asks = {r.text: bool(view.arrays()["asks"][view.row_of(r.id)]) for r in mem.list(user_id="u", limit=20)}
    assert asks["你住在哪里？"] and asks["你喜欢什么?"]  # full-width and ASCII question marks
    assert not asks["我住在上海浦东。"]


def test_a_recalled_chinese_question_brings_its_reply_into_the_context(mem):
    add_chat(mem)
    ctx = mem.context("你住在哪里", user_id="u", budget_tokens=400, now=NOW)
    assert "你住在哪里？\n  -> 小红: 我住在上海浦东。" in ctx.text


@pytest.mark.parametrize("budget", [10, 30, 80, 200, 600])
def test_context_never_exceeds_the_budget_with_chinese_turns(mem, budget):
    add_chat(mem)
    wm = mem.session("u", "s2", budget_tokens=budget)
    for i in range(12):
        wm.add("小明" if i % 2 else "小红", f"第{i}件事：我们聊了很多关于工作和家庭的事情，还有周末去哪里玩。")
    ctx = wm.context("周末去哪里玩？", budget_tokens=budget, now=NOW)
    assert ctx.tokens == (mem.encoder.count_tokens(ctx.text) if ctx.text else 0)
    assert ctx.tokens <= budget
    # a Chinese turn costs about one token a character, not one a run of characters
    assert all(mem.encoder.count_tokens(m.text) >= len(m.text) // 2 for m in ctx.working)


def test_very_long_chinese_text_without_punctuation_is_chunked_not_truncated(mem):
    text = "我们今天下午在公园里散步然后去了一家新开的咖啡馆点了两杯拿铁和一块蛋糕聊了很多关于工作和家庭的事情" * 30
    mem.add(text, user_id="u")
    chunks = sorted(mem.list(user_id="u", limit=100), key=lambda r: r.metadata["chunk"])
    assert len(chunks) > 1 and "".join(c.text for c in chunks) == text
    assert all(mem.encoder.count_tokens(c.text) <= mem.config.chunk_tokens for c in chunks)
    assert mem.search("咖啡馆的拿铁", user_id="u", k=1)[0].memory.text in {c.text for c in chunks}


@pytest.mark.parametrize("text", [
    "😀😀😀",
    "我今天很开心😀！Ana说她也很开心🎉",
    "（全角括号）「引号」《书名》，、；：！？",
    "ＡＢＣ１２３全角字母和数字",
    "Mixed 中文 and English 混合 text with 数字 42 and ❤️",
])
def test_bad_input_is_stored_and_searched(mem, text):
    mem.add({"role": "user", "content": text}, user_id="u", session_id="s", occurred_at="2023-06-01")
    [stored] = mem.list(user_id="u")
    assert stored.text == text
    hits = mem.search(text, user_id="u", k=1, now=NOW)
    assert hits and hits[0].memory.id == stored.id
    assert mem.search("😀", user_id="u", k=1, now=NOW)  # a query of emoji only gives results, not an error


def test_docs_chinese_examples_run(capsys):
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "chinese.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", doc, re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "docs/chinese.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert out == ["2023-06-07 2023-06-08 上周三", "两周前", "None"]
