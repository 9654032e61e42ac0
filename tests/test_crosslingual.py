"""Chinese and English with the real encoders: token budgets by their tokenizers, a Chinese
question finding an English memory and the reverse (the multilingual encoder is
cross-lingual), and an owner whose turns are in both languages, end to end."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from memlm import Memory

NOW = datetime(2023, 6, 15, 20, 0, tzinfo=timezone.utc)

FACTS_EN = ["I am allergic to peanuts.", "I live in Pudong, Shanghai.",
            "My sister studies computer science in Beijing.",
            "I adopted a beagle named Pepper last spring.", "I work as a nurse at a children's hospital.",
            "My favourite film is Spirited Away.", "I play the violin every Sunday morning.",
            "I am learning to cook Sichuan food.", "My car is a red Toyota.",
            "I am training for the Lisbon half marathon."]
FACTS_ZH = ["我对花生过敏。", "我住在上海浦东。", "我妹妹在北京读计算机专业。",
            "我去年春天领养了一只叫Pepper的比格犬。",
            "我在一家儿童医院当护士。", "我最喜欢的电影是《千与千寻》。", "我每个星期天早上拉小提琴。",
            "我在学做川菜。",
            "我的车是一辆红色的丰田。", "我在为里斯本半程马拉松训练。"]
QUESTIONS_ZH = ["我不能吃什么？", "我住在哪里？", "我妹妹学什么专业？", "我的狗叫什么名字？", "我做什么工作？",
                "我最喜欢哪部电影？", "我周末早上做什么？", "我在学做哪个地方的菜？", "我开什么车？",
                "我在为什么比赛训练？"]
QUESTIONS_EN = ["What can't I eat?", "Where do I live?", "What does my sister study?", "What is my dog's name?",
                "What is my job?", "Which film do I like best?", "What do I do on Sunday mornings?",
                "Which cuisine am I learning?", "What car do I drive?", "What race am I training for?"]


@pytest.fixture(scope="module")
def both(tmp_path_factory, e5):
    """One memory file: user "en" told its facts in English, user "zh" the same facts in Chinese."""
    with Memory(tmp_path_factory.mktemp("xl") / "m.db", encoder=e5) as mem:
        mem.add_many(FACTS_EN, user_id="en")
        mem.add_many(FACTS_ZH, user_id="zh")
        yield mem


def ranks(mem: Memory, owner: str, facts: list[str], questions: list[str]) -> list[int]:
    """The rank (0 = first) of each question's fact among the owner's ten; 10 if not in the top 5."""
    out = []
    for fact, q in zip(facts, questions, strict=True):
        texts = [h.memory.text for h in mem.search(q, user_id=owner, k=5)]
        out.append(texts.index(fact) if fact in texts else 10)
    return out


def test_a_chinese_question_finds_an_english_memory(both):
    r = ranks(both, "en", FACTS_EN, QUESTIONS_ZH)
    assert all(x < 5 for x in r), r  # every fact in the top 5 of ten
    assert sum(x == 0 for x in r) >= 6, r  # and most first (chance: 1 in 10)


def test_an_english_question_finds_a_chinese_memory(both):
    r = ranks(both, "zh", FACTS_ZH, QUESTIONS_EN)
    assert all(x < 3 for x in r), r
    assert sum(x == 0 for x in r) >= 7, r


def test_same_language_recall_in_both_languages(both):
    for owner, facts, questions in (("en", FACTS_EN, QUESTIONS_EN), ("zh", FACTS_ZH, QUESTIONS_ZH)):
        r = ranks(both, owner, facts, questions)
        assert all(x < 3 for x in r) and sum(x == 0 for x in r) >= 8, (owner, r)


def test_a_mixed_language_owner_end_to_end(tmp_path, e5):
    """Some sessions in English, some in Chinese, questions in both, with speakers and dates."""
    turns = [
        ("Ana", "I finally adopted a beagle named Pepper.", "2023-05-02 10:00", "s1"),
        ("小明", "太好了！Pepper多大了？", "2023-05-02 10:01", "s1"),
        ("Ana", "She is two years old and loves the park.", "2023-05-02 10:02", "s1"),
        ("小明", "我上周开始学游泳了，每周二和周四去。", "2023-06-08 19:00", "s2"),
        ("Ana", "我昨天换了新工作，现在在医院做数据分析。", "2023-06-14 20:00", "s3"),
        ("小明", "Congratulations on the new job at the hospital!", "2023-06-14 20:01", "s3"),
        ("Ana", "My sister Rosa looks after Pepper while I work.", "2023-06-14 20:02", "s3"),
    ]
    with Memory(tmp_path / "mixed.db", encoder=e5) as mem:
        for role, text, when, session in turns:
            mem.add({"role": role, "content": text}, user_id="u", session_id=session, occurred_at=when)

        def top(q: str, k: int = 2) -> list[str]:
            return [h.memory.text for h in mem.search(q, user_id="u", k=k, now=NOW)]

        assert "I finally adopted a beagle named Pepper." in top("Ana的狗叫什么名字？")
        assert "我上周开始学游泳了，每周二和周四去。" in top("What sport did 小明 start learning?")
        assert "我上周开始学游泳了，每周二和周四去。" in top("小明在学什么运动？")
        assert "我昨天换了新工作，现在在医院做数据分析。" in top("Where does Ana work now?")
        # three turns name Pepper; e5 puts a same-language Chinese one (0.89) above the English answer (0.81)
        assert "My sister Rosa looks after Pepper while I work." in top("谁在Ana上班的时候照顾Pepper？", k=3)
        yesterday = mem.search("Ana昨天说了什么？", user_id="u", k=3, now=NOW)
        assert yesterday[0].memory.text == "我昨天换了新工作，现在在医院做数据分析。"
        assert yesterday[0].reasons["time"] == 1.0 and yesterday[0].reasons["speaker"] > 0
        ctx = mem.context("Ana现在在哪里工作？", user_id="u", session_id="s3", budget_tokens=120, now=NOW)
        assert ctx.tokens <= 120 and "医院" in ctx.text


CHINESE_TURNS = ["我们今天聊了很多关于工作和家庭的事情，还有周末去哪里玩。", "我妹妹下个月要从北京来上海看我。",
                 "你还记得我上次说的那家川菜馆吗？就在静安寺旁边。", "我最近在学小提琴，每天练习一个小时。",
                 "Pepper今天在公园里追了一只猫😀！", "明天的会议改到下午三点了，别忘了带电脑。"]


@pytest.mark.parametrize("encoder", ["minilm", "e5"])
@pytest.mark.parametrize("budget", [16, 60, 150, 400])
def test_context_never_exceeds_the_budget_by_the_real_tokenizer(tmp_path, request, encoder, budget):
    enc = request.getfixturevalue(encoder)
    with Memory(tmp_path / "w.db", encoder=enc) as mem:
        for i, text in enumerate(CHINESE_TURNS * 3):
            mem.add({"role": "user" if i % 2 else "assistant", "content": text}, user_id="u",
                    session_id="old" if i < 9 else "now", occurred_at=f"2023-06-{1 + i:02d} 10:00")
        ctx = mem.context("我妹妹什么时候来上海？", user_id="u", session_id="now", budget_tokens=budget, now=NOW)
        assert ctx.tokens == (enc.count_tokens(ctx.text) if ctx.text else 0)
        assert ctx.tokens <= budget
        if budget >= 150:
            assert ctx.working and ctx.recalled
        window = mem.session("u", "now", budget_tokens=budget).turns()
        lines = [f"[{t.occurred_at:%Y-%m-%d %H:%M}] {t.role}: {t.text}" for t in window]
        assert sum(enc.count_tokens(line) + 1 for line in lines) <= budget


def test_wordpiece_counts_a_chinese_character_as_a_token(minilm):
    # MiniLM's uncased BERT WordPiece splits Chinese into characters (unknown ones are [UNK], one each)
    assert minilm.count_tokens("我对花生过敏") == 6
    assert minilm.count_tokens("我对花生过敏。") == 7
    assert minilm.count_tokens("我们聊了很多" * 100) == 600


def test_e5_counts_chinese_in_multi_character_pieces(e5):
    # XLM-R's sentencepiece: fewer tokens than characters, closer to an LLM tokenizer's count
    n = e5.count_tokens("我们今天下午在公园里散步然后去了一家新开的咖啡馆")
    assert 0 < n < len("我们今天下午在公园里散步然后去了一家新开的咖啡馆")
