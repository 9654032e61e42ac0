"""Time expressions in queries ("last May", "in 2022", "recently"; in Chinese 去年五月,
两周前, 最近: see timeparse_zh) as time windows.

Windows are half-open [start, end) in UTC, resolved against `now` (the caller's clock
or, for a replayed conversation, its latest date). The query is NFKC-normalised first
(full-width digits and letters read as ASCII ones).
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from memlm.recall.timeparse_zh import parse_zh

MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTH = (r"(january|february|march|april|may|june|july|august|september|october|november|december"
          r"|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)")
_UNITS = {"day": 1, "days": 1, "week": 7, "weeks": 7, "month": 30, "months": 30, "year": 365, "years": 365}
_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "few": 3, "couple": 2}


@dataclass(frozen=True)
class TimeWindow:
    start: datetime  # inclusive
    end: datetime  # exclusive
    label: str  # the words that named it

    def contains(self, when: datetime | None) -> bool:
        return when is not None and self.start <= when < self.end


def parse_window(query: str, now: datetime) -> TimeWindow | None:
    """The time window a query names, or None. The first matching pattern wins (Chinese ones
    first: an English pattern never matches inside Chinese text, whose words have no spaces)."""
    q = unicodedata.normalize("NFKC", query).lower()
    now = now if now.tzinfo else now.replace(tzinfo=timezone.utc)
    zh = parse_zh(q, now)
    if zh is not None:
        return TimeWindow(*zh)
    for parser in (_iso_date, _day_month_year, _month_year, _last_month_name, _relative, _ago, _year, _recent):
        window = parser(q, now)
        if window is not None:
            return window
    return None


def _utc(y: int, m: int = 1, d: int = 1) -> datetime:
    return datetime(y, m, d, tzinfo=timezone.utc)


def _month_window(y: int, m: int, label: str) -> TimeWindow:
    end = _utc(y + 1, 1) if m == 12 else _utc(y, m + 1)
    return TimeWindow(_utc(y, m), end, label)


def _day_window(y: int, m: int, d: int, label: str) -> TimeWindow | None:
    try:
        start = _utc(y, m, d)
    except ValueError:
        return None
    return TimeWindow(start, start + timedelta(days=1), label)


def _iso_date(q: str, now: datetime) -> TimeWindow | None:
    m = re.search(r"\b(\d{4})-(\d{2})-(\d{2})\b", q)
    return _day_window(int(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(0)) if m else None


def _day_month_year(q: str, now: datetime) -> TimeWindow | None:
    m = re.search(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?\s+(\d{{4}})\b", q)
    if m:
        return _day_window(int(m.group(3)), MONTHS[m.group(2)], int(m.group(1)), m.group(0))
    m = re.search(rf"\b{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", q)
    if m:
        return _day_window(int(m.group(3)), MONTHS[m.group(1)], int(m.group(2)), m.group(0))
    return None


def _month_year(q: str, now: datetime) -> TimeWindow | None:
    m = re.search(rf"\b{_MONTH},?\s+(?:of\s+)?(\d{{4}})\b", q)
    return _month_window(int(m.group(2)), MONTHS[m.group(1)], m.group(0)) if m else None


def _last_month_name(q: str, now: datetime) -> TimeWindow | None:
    m = re.search(rf"\b(?:last|in|this past|during)\s+{_MONTH}\b", q)
    if not m or (m.group(1) == "may" and not q[m.start():].startswith("last")):
        return None  # "in may" is too often the verb; only "last may" counts
    month = MONTHS[m.group(1)]
    year = now.year if month < now.month else now.year - 1
    return _month_window(year, month, m.group(0))


def _relative(q: str, now: datetime) -> TimeWindow | None:
    today = _utc(now.year, now.month, now.day)
    spans = {
        "yesterday": (today - timedelta(days=1), today),
        "today": (today, today + timedelta(days=1)),
        "last weekend": (today - timedelta(days=today.weekday() + 3), today - timedelta(days=today.weekday())),
        "last week": (today - timedelta(days=today.weekday() + 7), today - timedelta(days=today.weekday())),
        "this week": (today - timedelta(days=today.weekday()), today + timedelta(days=1)),
        "last month": (_utc(now.year - (now.month == 1), (now.month - 2) % 12 + 1), _utc(now.year, now.month)),
        "this month": (_utc(now.year, now.month), today + timedelta(days=1)),
        "last year": (_utc(now.year - 1), _utc(now.year)),
        "this year": (_utc(now.year), today + timedelta(days=1)),
    }
    for label, (start, end) in spans.items():
        if re.search(rf"\b{label}\b", q):
            return TimeWindow(start, end, label)
    return None


def _ago(q: str, now: datetime) -> TimeWindow | None:
    m = re.search(
        r"\b(\d+|a|an|one|two|three|four|five|six|few|couple)\s+(?:of\s+)?(days?|weeks?|months?|years?)\s+ago\b", q
    )
    if not m:
        return None
    n = int(m.group(1)) if m.group(1).isdigit() else _NUMBERS[m.group(1)]
    days = n * _UNITS[m.group(2)]
    slack = max(1, days // 4)  # "two weeks ago" is about, not exactly, 14 days
    center = now - timedelta(days=days)
    return TimeWindow(center - timedelta(days=slack), center + timedelta(days=slack + 1), m.group(0))


def _year(q: str, now: datetime) -> TimeWindow | None:
    m = re.search(r"\b(?:in|during|of|since)?\s*((?:19|20)\d{2})\b", q)
    if not m:
        return None
    year = int(m.group(1))
    return TimeWindow(_utc(year), _utc(year + 1), m.group(0).strip())


def _recent(q: str, now: datetime) -> TimeWindow | None:
    m = re.search(r"\b(recently|lately|these days|nowadays)\b", q)
    return TimeWindow(now - timedelta(days=30), now + timedelta(days=1), m.group(0)) if m else None
