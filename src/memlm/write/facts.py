"""Reading a statement into slots: who it is about (subject), which attribute it gives a value
of, the value, and whether it is negated ("no longer", 不再) or not a plain present fact
("used to", "want to", 以前, 打算). The write gate (write/gate.py) compares statements by
these slots, not by cosine: cosines say two texts are about the same thing, not whether one
replaces the other ("I am allergic to peanuts" / "... to penicillin" are close and both true).

English and Chinese alike: English is normalised (lower case, contractions expanded, number
words as digits); Chinese is matched without spaces and segmented with memlm.text.words.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from memlm.text import content_words, has_han, stem, words
from memlm.write import slots

_CONTRACTIONS = [(re.compile(p, re.IGNORECASE), r) for p, r in (
    (r"\bi'm\b", "i am"), (r"\bcan't\b", "can not"), (r"\bwon't\b", "will not"), (r"n't\b", " not"),
    (r"'re\b", " are"), (r"'ve\b", " have"), (r"'ll\b", " will"), (r"'d\b", " would"),
    (r"\b(he|she|it|that|there|what|who)'s\b", r"\1 is"), (r"'s\b", ""))]
_TOKEN = re.compile(r"[^\W_]+(?:[-.@+/:][^\W_]+)*")
_UNITS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve thirteen "
                                     "fourteen fifteen sixteen seventeen eighteen nineteen".split())}
_TENS = {w: 10 * (i + 2) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
_NUMBER_WORDS = re.compile(r"\b(?:(" + "|".join(_TENS) + r")(?:[ -](" + "|".join(list(_UNITS)[1:10])
                           + r"))?|(" + "|".join(_UNITS) + r"))\b", re.IGNORECASE)
_ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
              "九": 9}
# words that change nothing in a statement (articles, intensifiers, particles)
_EN_SKIP = {"a", "an", "the", "really", "actually", "just", "also", "so", "quite", "indeed", "definitely", "truly",
            "totally", "honestly", "basically", "can"}
_ZH_SKIP = {"了", "的", "啊", "呢", "吧", "呀", "嘛", "哦", "啦", "喔", "很", "非常", "真的", "特别", "挺", "超级"}
# words that say when, not what: left out when comparing what two statements of one value add
_TIME_FILLERS = {"now", "currently", "still", "today", "nowadays", "anymore", "again", "year", "现在", "目前", "今年",
                 "已经", "还", "仍然", "依然", "一直"}
_SYNONYMS = {"own": "have", "owns": "have", "reside": "live", "resides": "live", "favorite": "favourite",
             "colour": "color", "讲": "说", "上班": "工作", **slots.RELATIONS}
_NEGATORS = {"not", "no", "never", "longer", "anymore", "any", "more", "do", "does", "did",
             "不再", "不", "没", "没有", "再", "已经", "别"}
_EN_CUT = re.compile(r"\b(?:with|since|for|because|and|but|who|which|that|as of|until|till|from|to be|so)\b|,|;|\(")
_EN_CUT_NAMES = re.compile(r"\b(?:at|in|on|near)\b")
_EN_TAIL = re.compile(r"\b(?:now|currently|these days|nowadays|at the moment|any ?more|again|too|as well|"
                      r"today|this year|right now|instead)\b")
_ZH_CUT = re.compile(r"[，,。；;和跟与及而因为但是所以]")
_ZH_TAIL = re.compile(r"(?:了|啦|呀|呢|吧|现在|目前|啊)+$")


@dataclass(frozen=True)
class Statement:
    """A fact as slots. `attribute` is None when no known attribute was stated plainly."""

    text: str  # the normalised statement
    subject: str  # "self", a relation ("sister", "妻子"), a name ("ana") or the unparsed words
    attribute: str | None  # "residence", "age", "favourite:colour", ... (None: none recognised)
    single: bool  # the attribute is single-valued (a new value replaces the old)
    value: str | None  # the attribute's value, normalised ("paris", "31", "5559876")
    negated: bool  # "no longer", "not", 不再, 不 ...
    modal: bool  # not a plain present fact: "used to", "want to", "will", 以前, 打算 ...
    clean: bool  # the words before the attribute were only a subject and markers
    tokens: tuple[str, ...]  # the statement's words, canonical (same statement <=> same tokens)
    core: tuple[str, ...]  # tokens without negation words (a negated statement has the same core)
    content: frozenset[str]  # content words, canonical (for "adds nothing" checks)
    detail: frozenset[str] = frozenset()  # content words besides the attribute's own words (who, value, the rest)


@functools.lru_cache(maxsize=8192)
def parse(text: str) -> Statement:
    """The statement's slots (cached: the gate reads the same stored facts again and again)."""
    zh = has_han(text)
    norm = _normalise_zh(text) if zh else _normalise_en(text)
    toks = tuple(_tokens(norm, zh))
    core = tuple(t for t in (_strip_negator(t) for t in toks) if t and t not in _NEGATORS)
    content = frozenset(_SYNONYMS.get(w, w) for w in content_words(norm))
    negated, modal = _markers(norm, zh)
    modal = modal or re.search(slots.ZH_PAST if zh else slots.EN_PAST, norm) is not None
    attribute, single, value, subject, clean, detail = _attribute(norm, text, zh)
    if attribute is None:
        subject, clean = _leading_subject(norm, zh)
    return Statement(norm, subject, attribute, single, value, negated, modal, clean, toks, core, content, detail)


def compare(old: Statement, new: Statement) -> str | None:
    """"NOOP" if new states nothing old does not, "UPDATE" if it replaces old, else None (ADD)."""
    if old.tokens == new.tokens:
        return "NOOP"
    if old.subject != new.subject or not (old.clean and new.clean):
        return None
    if old.core == new.core and old.negated != new.negated and not (old.modal or new.modal):
        return "UPDATE"  # the same statement turned false (or true again): "I no longer eat meat"
    if old.attribute is None or old.attribute != new.attribute or not old.single or old.modal or new.modal:
        return None
    if old.value == new.value:
        if old.negated != new.negated:
            return "UPDATE"
        if new.detail <= old.detail:
            return "NOOP"  # the same value in fewer or other words ("I moved to Paris" after "I live in Paris")
        return "UPDATE" if old.detail <= new.detail else None  # the same value with more detail
    if old.negated or new.negated:
        return None  # "I don't live in Rome" does not replace "I live in Paris"
    return "UPDATE"


def differs(old: Statement, new: Statement) -> str | None:
    """Why new must not replace old (an LLM's UPDATE / DELETE is checked with this), or None."""
    if compare(old, new) is not None:
        return None
    if old.subject != new.subject and old.clean and new.clean:
        return f"a different subject ({old.subject} / {new.subject})"
    if old.attribute and new.attribute and old.attribute != new.attribute:
        return f"a different attribute ({old.attribute} / {new.attribute})"
    if old.attribute and not old.single and old.attribute == new.attribute and not old.content <= new.content:
        return f"{old.attribute} can have many values ({old.value} / {new.value})"
    if (old.attribute is None) != (new.attribute is None) and not old.content <= new.content:
        return f"a different attribute ({old.attribute or 'none'} / {new.attribute or 'none'})"
    return None


def slot_key(text: str) -> tuple[str, str] | None:
    """(subject, attribute) of a plain statement of a single-valued attribute, else None."""
    s = parse(text)
    if s.attribute is None or not s.single or s.negated or s.modal or not s.clean:
        return None
    return s.subject, s.attribute


# -- the steps ---------------------------------------------------------------------
def _normalise_en(text: str, lower: bool = True) -> str:
    t = (text.lower() if lower else text).replace("\u2019", "'")
    for pattern, repl in _CONTRACTIONS:
        t = pattern.sub(repl, t)
    t = re.sub(r"\b(ha(?:ve|s)) got\b", r"\1", t)  # "I've got a cat" = "I have a cat"
    t = re.sub(r"[,;:!?]+|\.(?=\s|$)", " , ", t)  # clause breaks stay, as ","
    t = " ".join(x for x in re.findall(r"[^\W_]+(?:[-.@+/:][^\W_]+)*|,", t))
    t = re.sub(r"^(?:, )+|(?: ,)+$", "", re.sub(r"(?:, )+", ", ", t)).strip()
    return _NUMBER_WORDS.sub(_number, t)


def _number(m: re.Match) -> str:
    if m.group(3):
        return str(_UNITS[m.group(3).lower()])
    return str(_TENS[m.group(1).lower()] + (_UNITS[m.group(2).lower()] if m.group(2) else 0))


def _normalise_zh(text: str) -> str:
    t = re.sub(r"[，,；;：:！!？?。]+", ",", text.lower())
    return ",".join(p for p in ("".join(_TOKEN.findall(part)) for part in t.split(",")) if p)


def _tokens(norm: str, zh: bool) -> list[str]:
    if zh:
        return [_SYNONYMS.get(w, w) for w in words(norm) if w not in _ZH_SKIP and w != ","]
    return [stem(_SYNONYMS.get(w, w)) for w in norm.split() if w not in _EN_SKIP and w != ","]


def _strip_negator(token: str) -> str:
    if len(token) > 1 and token[0] in "不没" and has_han(token) and token not in _NEGATORS:
        return token[1:]  # 不住 -> 住 (the segmenter keeps some negated verbs whole)
    return token


def _markers(norm: str, zh: bool) -> tuple[bool, bool]:
    if zh:
        tokens = words(norm)
        negated = any(t in ("不再", "不", "没", "没有", "别") or (len(t) == 2 and t[0] in "不没") for t in tokens)
        return negated, any(m in norm for m in slots.ZH_MODALITY if m != "会")  # 会说: can speak, not will
    padded = f" {norm} "
    negated = any(f" {m} " in padded for m in slots.EN_NEGATION)
    return negated, any(f" {m} " in padded for m in slots.EN_MODALITY)


def _attribute(norm: str, original: str, zh: bool):
    """(attribute, single, value, subject, clean, detail) of the first attribute stated, or Nones."""
    for attr in slots.CHINESE if zh else slots.ENGLISH:
        m = attr.pattern.match(norm)  # every pattern starts with the lazy (?P<pre>.*?): match, not search (O(n^2))
        if m is None:
            continue
        value, remainder = _value(m.group("v"), attr, zh)
        if not value or not _value_fits(attr, m, value, original, zh):
            continue
        subject, clean = _subject(m.group("pre"), zh)
        key = attr.key
        if "a" in m.groupdict() and m.group("a"):
            key = f"{attr.key}:{_SYNONYMS.get(m.group('a').strip(), m.group('a').strip())}"
        rest = f"{m.group('pre')} {remainder}"
        detail = frozenset(w for w in (_SYNONYMS.get(x, x) for x in content_words(rest)) if w not in _TIME_FILLERS)
        return key, attr.single, value, subject, clean, detail | {f"={value}"}
    return None, False, None, "", False, frozenset()


def _value(raw: str, attr: slots.Attribute, zh: bool) -> tuple[str, str]:
    """(the value, normalised; what the statement says after it)."""
    v = raw.strip()
    if zh:
        v = _ZH_CUT.split(v)[0]
        remainder = raw.strip()[len(v):]
        v = _ZH_TAIL.sub("", v)
        v = re.sub(r"^(?:现在|目前|在|了|是)+", "", v)
        if attr.value == "number":
            return str(_zh_number(v)), remainder
        return re.sub(r"^[零〇一二两三四五六七八九十百]+(?=[^零〇一二两三四五六七八九十百])",
                      lambda n: str(_zh_number(n.group(0))), v), remainder
    v = _EN_CUT.split(v)[0]
    if attr.key in ("job", "name", "manager", "spouse"):
        v = _EN_CUT_NAMES.split(v)[0]
    remainder = raw.strip()[len(v):]
    v = _EN_TAIL.sub(" ", v)
    v = " ".join(w for w in v.split() if w not in ("a", "an", "the", "my", "our"))
    if attr.key == "phone":
        return re.sub(r"\D", "", v), remainder
    v = re.sub(r"(\d) (?=[a-z])", r"\1", v)  # 80 kg = 80kg
    return " ".join(stem(_SYNONYMS.get(w, w)) for w in v.split()), remainder


def _value_fits(attr: slots.Attribute, m: re.Match, value: str, original: str, zh: bool) -> bool:
    if attr.value == "number":
        return any(c.isdigit() for c in value)
    if attr.value == "name" and not zh:
        start = m.start("v")
        while m.string.startswith(("now ", "currently ", "a ", "an ", "the "), start):
            start = m.string.index(" ", start) + 1
        orig = _normalise_en(original, lower=False)
        word = orig[start:start + 1] if len(orig) == len(m.string) else ""
        return not word or word.isupper()  # a name, not a description ("my boss is very strict")
    return True


def _zh_number(text: str) -> int | str:
    digits = re.sub(r"[^0-9零〇一二两三四五六七八九十百点.]", "", text)
    if digits.replace(".", "").isdigit():
        return int(float(digits)) if "." in digits else int(digits)
    total, unit_value, current = 0, 0, 0
    for ch in digits:
        if ch in _ZH_DIGITS:
            current = _ZH_DIGITS[ch]
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        elif ch == "百":
            total += (current or 1) * 100
            current = 0
        else:
            return text
    return total + current + unit_value if digits else text


def _subject(pre: str, zh: bool) -> tuple[str, bool]:
    """Who the words before the attribute name, and whether they were only that and markers."""
    pre = pre.rsplit(",", 1)[-1].strip()
    if zh:
        rest = pre
        for marker in (*slots.ZH_NEGATION, *slots.ZH_MODALITY, *slots.ZH_FILLER):
            rest = rest.replace(marker, "")
        if rest in slots.SELF or rest in slots.WE:
            return "self", True
        if rest.startswith("我们"):
            return "self", len(rest) == 2
        if rest.startswith("我"):
            who = rest[1:]
            return slots.RELATIONS.get(who, who), len(who) <= 4
        return rest, len(rest) <= 4
    rest = f" {pre} "
    for marker in (*slots.EN_NEGATION, *slots.EN_MODALITY, *slots.EN_FILLER):
        rest = rest.replace(f" {marker} ", " ")
    ws = rest.split()
    if not ws or ws in (["i"], ["me"], ["myself"], ["the", "user"], ["user"]):
        return "self", True
    if ws[0] in ("my", "our"):
        rel = [w for w in ws[1:] if w not in slots.EN_ADJECTIVES]
        if not rel:
            return "self", True
        return slots.RELATIONS.get(rel[-1], rel[-1]), len(rel) <= 2
    if ws[0] in ("we", "us"):
        return "self", len(ws) == 1
    return " ".join(ws), len(ws) <= 2 and all(w.isalpha() for w in ws)


def _leading_subject(norm: str, zh: bool) -> tuple[str, bool]:
    """Without an attribute: who the statement is about, from its first words."""
    if zh:
        ws = words(norm)
        if not ws:
            return "self", True
        if ws[0] in ("我们", "咱们"):
            return "self", True
        if ws[0] == "我":
            nxt = ws[1] if len(ws) > 1 else ""
            return (slots.RELATIONS[nxt], True) if nxt in slots.RELATIONS else ("self", True)
        return ws[0], True
    ws = norm.split()
    if not ws or ws[0] in ("i", "me", "we"):
        return "self", True
    if ws[0] in ("my", "our") and len(ws) > 1:
        return slots.RELATIONS.get(ws[1], ws[1]), True
    return ws[0], True
