"""Chinese time expressions (昨天, 上周, 去年五月, 5月2号, 两周前, 最近, ...) as time windows.

The same windows as the English parser in `timeparse` (half-open [start, end) in UTC,
relative to `now`; weeks start on Monday), plus forms English has no single word for
(前天, 大前天, 上周三, 过去三天) and the future where a question can ask about it
(明天, 下周, 下个月, 明年, 三天后). Numbers may be written in Chinese (一 .. 十, 十一,
二十三, 两, 几, 半) or in Arabic digits (full-width digits are normalised by the caller).

A single time word is only read where the segmenter agrees it is a word: 前天 in
之前天气 ("the weather before") or 今天 in 如今天气 is not a date.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone

from memlm.text import segment

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_N = r"[0-9零〇一二两三四五六七八九十百]+|几|半"  # a count ("两周前", "几天前", "半年前")
_ORD = r"[0-9]{1,2}|[一二三四五六七八九十]{1,3}"  # a month or a day of the month (no 两: 二月, 二号)
_YEAR_ABS = r"(\d{4}|\d{2}(?=\s*年\s*(?:[0-9]{1,2}|[一二三四五六七八九十]{1,3})\s*月)|[〇零一二三四五六七八九]{4})\s*年"
_YEAR_REL = {"大前年": -3, "前年": -2, "去年": -1, "今年": 0, "本年": 0, "明年": 1, "后年": 2}
_YEAR = rf"(?:{_YEAR_ABS}|({'|'.join(_YEAR_REL)}))"
_MONTH_REL = {"上上个月": -2, "上个月": -1, "上月": -1, "这个月": 0, "本月": 0, "这月": 0, "下个月": 1, "下月": 1}
_UNIT_DAYS = {"天": 1, "日": 1, "周": 7, "星期": 7, "礼拜": 7, "月": 30, "年": 365}
_UNIT = r"天|日|周|星期|礼拜|月|年"
_WEEKDAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_HAN_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")

MAX_DAYS = 100 * 365  # a count beyond a century ago ("2022年前": before 2022) names no window

_FULL_DATE = re.compile(rf"{_YEAR}?\s*({_ORD})\s*月\s*({_ORD})\s*[日号]")
_MONTH_REL_DATE = re.compile(rf"({'|'.join(_MONTH_REL)})\s*({_ORD})\s*[日号]")
_MONTH_NAME = re.compile(rf"{_YEAR}?\s*({_ORD})\s*月(?![前后]|以[前后]|之[前后])")
_YEAR_NAME = re.compile(r"(?<!\d)(\d{4}|[〇零一二三四五六七八九]{4})\s*年(?![前后代]|以[前后]|之[前后])")
_WEEKDAY_RE = re.compile(r"(?<!每)(上上|上|这|本|下)?\s*个?\s*(?:周|星期|礼拜)([一二三四五六日天])(?![年月])")
_COUNT = rf"({_N})\s*(个)?\s*({_UNIT})"
_AGO = re.compile(rf"{_COUNT}\s*(以前|之前|前|以后|之后|后)")
_FEW_DAYS_AGO = re.compile(r"前\s*(几|两|一两|两三|三四)\s*天|前些(?:天|日子)")
_PAST = re.compile(rf"(?:最近|过去|近)\s*的?\s*{_COUNT}")
_NUMERIC_DATE = re.compile(r"(?<![\d.])((?:19|20)\d{2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{1,2})(?![\d.])")

Span = tuple[datetime, datetime, str]


def zh_number(s: str) -> float | None:
    """一 -> 1, 十一 -> 11, 二十三 -> 23, 一百零五 -> 105, 两 -> 2, 几 -> 3 (a few), 半 -> 0.5,
    "23" -> 23, 两三 -> 3 (a range: its upper end); None for anything else."""
    s = s.strip()
    if not s:
        return None
    if s.isdigit():
        return float(int(s))
    if s == "几":
        return 3.0
    if s == "半":
        return 0.5
    if any(ch not in _DIGITS and ch not in "十百" for ch in s):
        return None
    if "十" not in s and "百" not in s:
        if len(s) == 1:
            return float(_DIGITS[s])
        if len(s) == 2 and _DIGITS[s[1]] == _DIGITS[s[0]] + 1:  # 两三, 三四: "two or three"
            return float(_DIGITS[s[1]])
        return None
    total, current = 0, None
    for ch in s:
        if ch in _DIGITS:
            if current is not None and current != 0 and ch not in "零〇":
                return None  # two digits in a row inside a positional number
            current = _DIGITS[ch]
        else:
            scale = 10 if ch == "十" else 100
            if current == 0:
                return None
            total += (1 if current is None else current) * scale
            current = None
    return float(total + (current or 0))


def _int(s: str) -> int | None:
    n = zh_number(s)
    return int(n) if n is not None and n == int(n) and n >= 1 else None


def _year_number(s: str) -> int:
    if s.isdigit():
        return int(s) + (2000 if len(s) == 2 else 0)
    return int("".join(str(_DIGITS[ch]) for ch in s))


def _utc(y: int, m: int = 1, d: int = 1) -> datetime:
    return datetime(y, m, d, tzinfo=timezone.utc)


def _month_start(y: int, m: int, shift: int = 0) -> datetime:
    i = y * 12 + (m - 1) + shift
    return _utc(i // 12, i % 12 + 1)


def _day(y: int, m: int, d: int) -> tuple[datetime, datetime] | None:
    try:
        start = _utc(y, m, d)
    except ValueError:
        return None
    return start, start + timedelta(days=1)


def _aligned(q: str, start: int, end: int) -> bool:
    """Whether q[start:end] is not cut out of the words around it: it may not begin inside a
    dictionary word, nor end inside one that does not begin with it (昨天 in 昨天下午 is fine):
    前天 in 之前天气 is not a day. A non-dictionary "word" is the segmenter gluing unknown
    single characters (我下 / 周末 for 我下周末) and does not count."""
    def inside(i: int) -> bool:  # between two Han characters, where only the segmenter sees words
        return 0 < i < len(q) and _HAN_CHAR.match(q[i - 1]) is not None and _HAN_CHAR.match(q[i]) is not None

    if inside(start):
        _, words = _words_around(q, start)
        word_start, word = words[start]
        if word_start != start and _known(word):
            return False
    if inside(end):
        _, words = _words_around(q, end - 1)
        word_start, word = words[end - 1]
        if word_start + len(word) != end and word_start > start and _known(word):
            return False
    return True


def _known(word: str) -> bool:
    import rjieba  # memlm.text's segmenter; its dictionary

    return bool(rjieba.has_word(word))


def _words_around(q: str, i: int) -> tuple[int, dict[int, tuple[int, str]]]:
    """The Han run holding q[i] as segmented words: (run start, index -> (its word's start, the word))."""
    run = next(r for r in _HAN_RUN.finditer(q) if r.start() <= i < r.end())
    words: dict[int, tuple[int, str]] = {}
    pos = run.start()
    for word in segment(run.group(0)).split():
        for j in range(pos, pos + len(word)):
            words[j] = (pos, word)
        pos += len(word)
    return run.start(), words


def _matches(pattern: re.Pattern[str], q: str, check: bool = False) -> Iterator[re.Match[str]]:
    """The pattern's matches in q (with check: only those the segmenter agrees with, see _aligned)."""
    for m in pattern.finditer(q):
        if not check or _aligned(q, m.start(), m.end()):
            yield m


def _year_of(m: re.Match[str], abs_group: int, rel_group: int, now: datetime) -> int | None:
    if m.group(abs_group):
        return _year_number(m.group(abs_group))
    if m.group(rel_group):
        return now.year + _YEAR_REL[m.group(rel_group)]
    return None


def _dates(q: str, now: datetime) -> Span | None:
    """Days: 2023年4月5日, 去年5月2号, 五月二号, 5月2日 (the latest one not after today),
    上个月5号, 2023/4/5, 2023.4.5, 2023-4-5."""
    for m in _matches(_FULL_DATE, q):
        month, dom = _int(m.group(3)), _int(m.group(4))
        if month is None or dom is None or month > 12:
            continue
        year = _year_of(m, 1, 2, now)
        if year is None:
            year = now.year if (month, dom) <= (now.month, now.day) else now.year - 1
        span = _day(year, month, dom)
        if span:
            return (*span, m.group(0).strip())
    for m in _matches(_MONTH_REL_DATE, q):
        first = _month_start(now.year, now.month, _MONTH_REL[m.group(1)])
        dom = _int(m.group(2))
        span = _day(first.year, first.month, dom) if dom else None
        if span:
            return (*span, m.group(0))
    return _numeric_date(q)


def _numeric_date(q: str) -> Span | None:
    """2023/4/5, 2023.4.5, 2023-4-5 (not a version number: 2023.4.5.1)."""
    for m in _NUMERIC_DATE.finditer(q):
        span = _day(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if span:
            return (*span, m.group(0))
    return None


def _months(q: str, now: datetime) -> Span | None:
    """Named months: 2023年4月, 去年五月, 今年五月份, 五月 (the latest May not after this month)."""
    for m in _matches(_MONTH_NAME, q):
        month = _int(m.group(3))
        if month is None or month > 12:
            continue
        year = _year_of(m, 1, 2, now)
        if year is None:
            year = now.year if month <= now.month else now.year - 1
        return _utc(year, month), _month_start(year, month, 1), m.group(0).strip()
    return None


def _weekdays(q: str, now: datetime) -> Span | None:
    """上周三, 这个星期五, 下礼拜一, 周日 (the latest Sunday, today included)."""
    today = _utc(now.year, now.month, now.day)
    monday = today - timedelta(days=today.weekday())
    shift = {"上上": -14, "上": -7, "这": 0, "本": 0, "下": 7}
    for m in _matches(_WEEKDAY_RE, q, check=True):
        if m.group(1):
            day = monday + timedelta(days=shift[m.group(1)] + _WEEKDAY[m.group(2)])
        else:
            day = today - timedelta(days=(today.weekday() - _WEEKDAY[m.group(2)]) % 7)
        return day, day + timedelta(days=1), m.group(0)
    return None


def _counted(q: str, now: datetime) -> Span | None:
    """两周前, 三天前, 几天前, 半年前, 三天后; 前几天, 前两天; 过去三天, 最近两周, 近一个月."""
    for m in _matches(_AGO, q, check=True):
        days = _days(m.group(1), m.group(2), m.group(3))
        if days is None:
            continue
        sign = -1 if m.group(4).endswith("前") else 1
        return _about(now + sign * timedelta(days=days), days, m.group(0))
    for m in _matches(_FEW_DAYS_AGO, q, check=True):
        n = zh_number(m.group(1)) if m.group(1) else 3.0
        return _about(now - timedelta(days=n or 3), int(n or 3), m.group(0))
    for m in _matches(_PAST, q, check=True):
        days = _days(m.group(1), m.group(2), m.group(3))
        if days is None:
            continue
        return now - timedelta(days=days), now + timedelta(days=1), m.group(0)
    return None


def _days(n: str, ge: str | None, unit: str) -> int | None:
    """The days in "N (个) unit"; a month needs 个 (三个月; 三月 is March) unless N is 两, 几 or 半."""
    value = zh_number(n)
    if (
        value is None
        or value <= 0
        or value * _UNIT_DAYS[unit] > MAX_DAYS
        or (unit == "月" and not ge and n not in ("两", "几", "半"))
    ):
        return None
    return max(1, round(value * _UNIT_DAYS[unit]))


def _about(center: datetime, days: int, label: str) -> Span:
    slack = max(1, days // 4)  # as in English: "two weeks ago" is about, not exactly, 14 days
    return center - timedelta(days=slack), center + timedelta(days=slack + 1), label


_DAY_WORDS = (("大前天", -3), ("前天", -2), ("昨天|昨日|昨晚|昨夜|昨儿", -1), ("今天|今日|今晚|今早|今夜|今儿", 0),
              ("明天|明日|明晚|明早", 1), ("大后天", 3), ("后天", 2))
# The single time words, in the order they are tried (a longer word before the word inside it)
_NAMED = [
    re.compile(p)
    for p in (
        r"上个?周末",
        r"(?:这|本)个?周末",
        r"下个?周末",
        r"周末",
        r"上上个?(?:周|星期|礼拜)",
        r"上一?个?(?:周|星期|礼拜)",
        r"(?:这|本)一?个?(?:周|星期|礼拜)",
        r"下一?个?(?:周|星期|礼拜)",
        *_MONTH_REL,
        *_YEAR_REL,
        *(w for w, _ in _DAY_WORDS),
        r"这几天|这两天|这些天",
        r"最近|近来|近期|近日|这段时间|这阵子|前阵子|前段时间|近段时间",
    )
]
_FIRST = frozenset("上下这本周大前昨今明后去最近")  # the first characters of the words in _NAMED: a quick "none here"


def _named(q: str, now: datetime) -> Span | None:
    """Single time words: weekends, weeks, months, years, days, "recently"."""
    if _FIRST.isdisjoint(q):
        return None
    for i in [i for i, p in enumerate(_NAMED) if p.search(q)]:
        # the words for "recently" cannot be read out of two other words; the segmenter may cut them (我前 / 阵子)
        for m in _matches(_NAMED[i], q, check=i < len(_NAMED) - 2):
            return (*_named_window(i, now), m.group(0))
    return None


def _named_window(i: int, now: datetime) -> tuple[datetime, datetime]:
    """The window of the i-th single time word in _NAMED."""
    today = _utc(now.year, now.month, now.day)
    monday = today - timedelta(days=today.weekday())
    tomorrow = today + timedelta(days=1)
    weeks = 8  # the weekend and week words come first in _NAMED
    if i < weeks:
        last_weekend = (today - timedelta(days=today.weekday() + 3), monday)
        if i == 0 or (i == 3 and today.weekday() < 4):  # 上周末; 周末: the latest (this one from Friday on)
            return last_weekend
        if i in (1, 2, 3):  # 这周末, 下周末 (Friday to Monday, as in English)
            friday = monday + timedelta(days=4 + (7 if i == 2 else 0))
            return friday, friday + timedelta(days=3)
        start = monday + timedelta(days=(-14, -7, 0, 7)[i - 4])
        return start, tomorrow if i == 6 else start + timedelta(days=7)
    i -= weeks
    if i < len(_MONTH_REL):
        shift = list(_MONTH_REL.values())[i]
        first = _month_start(now.year, now.month, shift)
        return first, tomorrow if shift == 0 else _month_start(first.year, first.month, 1)
    i -= len(_MONTH_REL)
    if i < len(_YEAR_REL):
        shift = list(_YEAR_REL.values())[i]
        return _utc(now.year + shift), tomorrow if shift == 0 else _utc(now.year + shift + 1)
    i -= len(_YEAR_REL)
    if i < len(_DAY_WORDS):
        offset = _DAY_WORDS[i][1]
        return today + timedelta(days=offset), today + timedelta(days=offset + 1)
    days = 7 if i == len(_DAY_WORDS) else 30  # 这几天: these few days; 最近: as English "recently"
    return now - timedelta(days=days), now + timedelta(days=1)


def _year_alone(q: str, now: datetime) -> Span | None:
    """2022年, 二〇二二年 (not 2022年前, "before 2022")."""
    for m in _YEAR_NAME.finditer(q):
        year = _year_number(m.group(1))
        if 1900 <= year <= 2200:
            return _utc(year), _utc(year + 1), m.group(0)
    return None


PARSERS: tuple[Callable[[str, datetime], Span | None], ...] = (
    _dates,
    _months,
    _weekdays,
    _counted,
    _named,
    _year_alone,
)


def parse_zh(q: str, now: datetime) -> Span | None:
    """The first Chinese time expression in q (NFKC-normalised, lower-cased): (start, end, label).
    Without Chinese characters only numeric dates (2023/4/5) can be there."""
    if _HAN_RUN.search(q) is None:
        return _numeric_date(q)
    for parser in PARSERS:
        span = parser(q, now)
        if span is not None:
            return span
    return None
