from datetime import datetime, timedelta, timezone

import pytest

from memlm.recall.timeparse import parse_window
from memlm.recall.timeparse_zh import zh_number

NOW = datetime(2023, 6, 15, 12, 0, tzinfo=timezone.utc)


def d(y, m, day=1):
    return datetime(y, m, day, tzinfo=timezone.utc)


@pytest.mark.parametrize("query, start, end", [
    ("what happened in 2022?", d(2022, 1), d(2023, 1)),
    ("what did I do last May", d(2023, 5), d(2023, 6)),  # the May just past
    ("last July", d(2022, 7), d(2022, 8)),
    ("plans for last March", d(2023, 3), d(2023, 4)),
    ("in May 2023 we met", d(2023, 5), d(2023, 6)),
    ("on 8 May, 2023", d(2023, 5, 8), d(2023, 5, 9)),
    ("on May 8th, 2023", d(2023, 5, 8), d(2023, 5, 9)),
    ("notes from 2023-01-31", d(2023, 1, 31), d(2023, 2, 1)),
    ("what did I eat yesterday", d(2023, 6, 14), d(2023, 6, 15)),
    ("last week's meeting", d(2023, 6, 5), d(2023, 6, 12)),
    ("last month", d(2023, 5), d(2023, 6)),
    ("last year", d(2022, 1), d(2023, 1)),
])
def test_windows(query, start, end):
    w = parse_window(query, NOW)
    assert (w.start, w.end) == (start, end)


def test_recently_and_ago_are_relative_to_now():
    w = parse_window("what have I been reading recently", NOW)
    assert w.end > NOW > w.start and (NOW - w.start).days == 30
    w = parse_window("the trip two weeks ago", NOW)
    assert w.contains(d(2023, 6, 1)) and not w.contains(d(2023, 5, 1))


@pytest.mark.parametrize("query", ["where does my sister live", "may I ask about dogs", "what is 42 times 3"])
def test_no_time_named(query):
    assert parse_window(query, NOW) is None


# --- Chinese (timeparse_zh); NOW is Thursday 15 June 2023 ---------------------------------

@pytest.mark.parametrize("query, start, end", [
    ("我昨天吃了什么", d(2023, 6, 14), d(2023, 6, 15)),
    ("昨晚看的电影", d(2023, 6, 14), d(2023, 6, 15)),
    ("我前天去了公园", d(2023, 6, 13), d(2023, 6, 14)),
    ("大前天", d(2023, 6, 12), d(2023, 6, 13)),
    ("今天有什么安排", d(2023, 6, 15), d(2023, 6, 16)),
    ("上周的会议", d(2023, 6, 5), d(2023, 6, 12)),
    ("上星期", d(2023, 6, 5), d(2023, 6, 12)),
    ("上个星期我说了什么", d(2023, 6, 5), d(2023, 6, 12)),
    ("上礼拜", d(2023, 6, 5), d(2023, 6, 12)),
    ("上上周", d(2023, 5, 29), d(2023, 6, 5)),
    ("这周", d(2023, 6, 12), d(2023, 6, 16)),
    ("本周的计划", d(2023, 6, 12), d(2023, 6, 16)),
    ("上个月", d(2023, 5, 1), d(2023, 6, 1)),
    ("上月", d(2023, 5, 1), d(2023, 6, 1)),
    ("这个月", d(2023, 6, 1), d(2023, 6, 16)),
    ("去年我在哪里工作", d(2022, 1, 1), d(2023, 1, 1)),
    ("前年", d(2021, 1, 1), d(2022, 1, 1)),
    ("今年", d(2023, 1, 1), d(2023, 6, 16)),
    ("今年五月", d(2023, 5, 1), d(2023, 6, 1)),
    ("今年五月份", d(2023, 5, 1), d(2023, 6, 1)),
    ("去年五月", d(2022, 5, 1), d(2022, 6, 1)),
    ("五月", d(2023, 5, 1), d(2023, 6, 1)),  # the latest May not after this month
    ("七月我去了哪里", d(2022, 7, 1), d(2022, 8, 1)),  # July has not come yet this year
    ("十二月", d(2022, 12, 1), d(2023, 1, 1)),
    ("十一月", d(2022, 11, 1), d(2022, 12, 1)),
    ("我5月2日去了博物馆", d(2023, 5, 2), d(2023, 5, 3)),
    ("在5月2号", d(2023, 5, 2), d(2023, 5, 3)),
    ("五月二号那天", d(2023, 5, 2), d(2023, 5, 3)),
    ("五月二十三日", d(2023, 5, 23), d(2023, 5, 24)),
    ("4月27号这天我跑了多久", d(2023, 4, 27), d(2023, 4, 28)),
    ("8月1日", d(2022, 8, 1), d(2022, 8, 2)),  # not after today: last year's
    ("去年五月二号", d(2022, 5, 2), d(2022, 5, 3)),
    ("上个月5号", d(2023, 5, 5), d(2023, 5, 6)),
    ("2023年4月", d(2023, 4, 1), d(2023, 5, 1)),
    ("2023 年 4 月", d(2023, 4, 1), d(2023, 5, 1)),
    ("2023年4月5日", d(2023, 4, 5), d(2023, 4, 6)),
    ("二〇二二年三月", d(2022, 3, 1), d(2022, 4, 1)),
    ("23年5月", d(2023, 5, 1), d(2023, 6, 1)),
    ("2022年我去了哪里", d(2022, 1, 1), d(2023, 1, 1)),
    ("二〇二二年", d(2022, 1, 1), d(2023, 1, 1)),
    ("2023/4/5的笔记", d(2023, 4, 5), d(2023, 4, 6)),
    ("2023.4.5", d(2023, 4, 5), d(2023, 4, 6)),
    ("周末做了什么", d(2023, 6, 9), d(2023, 6, 12)),  # a Thursday: the weekend just past
    ("上周末", d(2023, 6, 9), d(2023, 6, 12)),
    ("这个周末", d(2023, 6, 16), d(2023, 6, 19)),
    ("下周末", d(2023, 6, 23), d(2023, 6, 26)),
    ("上周三", d(2023, 6, 7), d(2023, 6, 8)),
    ("这周五", d(2023, 6, 16), d(2023, 6, 17)),
    ("下周一", d(2023, 6, 19), d(2023, 6, 20)),
    ("星期天", d(2023, 6, 11), d(2023, 6, 12)),
    ("周四", d(2023, 6, 15), d(2023, 6, 16)),  # today is a Thursday
    ("上个礼拜二", d(2023, 6, 6), d(2023, 6, 7)),
    ("过去三天", NOW - timedelta(days=3), NOW + timedelta(days=1)),
    ("最近两周", NOW - timedelta(days=14), NOW + timedelta(days=1)),
    ("这几天", NOW - timedelta(days=7), NOW + timedelta(days=1)),
])
def test_chinese_windows(query, start, end):
    w = parse_window(query, NOW)
    assert w is not None, query
    assert (w.start, w.end) == (start, end)


@pytest.mark.parametrize("query, start, end", [
    ("明天", d(2023, 6, 16), d(2023, 6, 17)),
    ("后天", d(2023, 6, 17), d(2023, 6, 18)),
    ("下周有什么安排", d(2023, 6, 19), d(2023, 6, 26)),
    ("下个星期", d(2023, 6, 19), d(2023, 6, 26)),
    ("下个月", d(2023, 7, 1), d(2023, 8, 1)),
    ("明年", d(2024, 1, 1), d(2025, 1, 1)),
    ("明年三月", d(2024, 3, 1), d(2024, 4, 1)),
])
def test_chinese_future_windows(query, start, end):
    w = parse_window(query, NOW)
    assert (w.start, w.end) == (start, end)


@pytest.mark.parametrize("zh, en", [
    ("昨天", "yesterday"), ("今天", "today"), ("上周", "last week"), ("这周", "this week"),
    ("上个月", "last month"), ("这个月", "this month"), ("去年", "last year"), ("今年", "this year"),
    ("上周末", "last weekend"), ("两周前", "two weeks ago"), ("三天前", "3 days ago"), ("几天前", "a few days ago"),
    ("一个月前", "a month ago"), ("两年前", "two years ago"), ("最近", "recently"), ("2023年4月", "April 2023"),
    ("2023年5月8日", "May 8th, 2023"), ("2022年", "in 2022"), ("今年五月", "last May"),
])
def test_chinese_gives_the_english_window(zh, en):
    a, b = parse_window(zh, NOW), parse_window(en, NOW)
    assert a is not None and b is not None
    assert (a.start, a.end) == (b.start, b.end)


@pytest.mark.parametrize("query, days", [
    ("两周前", 14), ("三天前", 3), ("3天前", 3), ("3 天 前", 3), ("十天前", 10), ("二十三天前", 23),
    ("几天前", 3), ("前几天", 3), ("前两天", 2), ("两三天前", 3), ("三个星期前", 21), ("两个礼拜以前", 14),
    ("一个月之前", 30), ("三个月前", 90), ("两月前", 60), ("半个月前", 15), ("半年前", 182), ("五年前", 1825),
])
def test_chinese_ago_is_centred_on_the_count(query, days):
    w = parse_window(query, NOW)
    assert w is not None, query
    assert w.contains(NOW - timedelta(days=days))
    assert not w.contains(NOW) and not w.contains(NOW - timedelta(days=2 * days + 2))


def test_chinese_later_is_in_the_future():
    w = parse_window("三天后我要做什么", NOW)
    assert w.contains(NOW + timedelta(days=3)) and not w.contains(NOW)


@pytest.mark.parametrize("query, start, end", [
    ("５月２日", d(2023, 5, 2), d(2023, 5, 3)),
    ("２０２３年４月５日", d(2023, 4, 5), d(2023, 4, 6)),
    ("昨天我们去了哪里？！", d(2023, 6, 14), d(2023, 6, 15)),  # full-width punctuation
    ("昨天😀我们去了哪里", d(2023, 6, 14), d(2023, 6, 15)),  # emoji
    ("What did Ana say 上周?", d(2023, 6, 5), d(2023, 6, 12)),
    ("Ana上周说了什么", d(2023, 6, 5), d(2023, 6, 12)),
    ("小明昨天去了哪里？", d(2023, 6, 14), d(2023, 6, 15)),
    ("我 last week 去了哪里", d(2023, 6, 5), d(2023, 6, 12)),
    ("in 2022 我去了哪里", d(2022, 1, 1), d(2023, 1, 1)),
    ("Pepper 两周前 was sick", NOW - timedelta(days=17), NOW - timedelta(days=10)),
    ("３天前", NOW - timedelta(days=4), NOW - timedelta(days=1)),
])
def test_full_width_emoji_and_mixed_language(query, start, end):
    w = parse_window(query, NOW)
    assert w is not None, query
    assert (w.start, w.end) == (start, end)


@pytest.mark.parametrize("query", [
    "之前天气很好",  # 之前 + 天气, not 前天
    "如今天气不错",  # 如今 + 天气, not 今天
    "以后天气会变冷",  # 以后 + 天气, not 后天
    "如今年轻人喜欢什么",  # 如今 + 年轻人, not 今年
    "我每周一去游泳",  # every Monday is no one day
    "一周一次",
    "2022年前",  # before 2022
    "我不知道",
    "三个人去了公园",
    "13月",
    "我对花生过敏",
    "😀😀😀",
    "",
])
def test_chinese_no_time_named(query):
    assert parse_window(query, NOW) is None


@pytest.mark.parametrize("word", ["最近", "近来", "近期", "近日", "这段时间", "这阵子", "前阵子", "前段时间",
                                  "近段时间"])
def test_chinese_recently(word):
    w = parse_window(f"我{word}在看什么书？", NOW)
    assert w is not None and w.label == word
    assert (w.start, w.end) == (NOW - timedelta(days=30), NOW + timedelta(days=1))  # as English "recently"


ZH_TIME_WORDS = (
    "上周末 上个周末 这周末 这个周末 本周末 下周末 下个周末 周末 上上周 上上个星期 上周 上星期 上个星期 上礼拜 "
    "上个礼拜 上一周 这周 本周 这星期 这个星期 这礼拜 这一周 下周 下星期 下个星期 下礼拜 上上个月 上个月 上月 "
    "这个月 本月 下个月 "
    "下月 大前年 前年 去年 今年 明年 后年 大前天 前天 昨天 昨日 昨晚 昨夜 今天 今日 今晚 今早 明天 明日 明晚 明早 "
    "大后天 后天 这几天 这两天 这些天").split()


@pytest.mark.parametrize("word", ZH_TIME_WORDS)
def test_every_single_time_word_in_a_sentence(word):
    w = parse_window(f"我{word}做了什么？", NOW)
    assert w is not None and w.label == word
    assert w.end > w.start


def test_a_time_word_the_segmenter_splits_off_is_read_where_it_is():
    assert parse_window("这周一直在下雨", NOW).label == "这周"  # 这周 + 一直, not this Monday
    assert parse_window("马上周末了", NOW).label == "周末"  # 马上 + 周末, not last weekend (上周末)


def test_chinese_windows_roll_over_the_year():
    jan = datetime(2023, 1, 10, 9, 0, tzinfo=timezone.utc)  # a Tuesday
    assert (parse_window("上个月", jan).start, parse_window("上个月", jan).end) == (d(2022, 12), d(2023, 1))
    assert parse_window("上周", jan).start == d(2023, 1, 2)
    assert parse_window("上上周", jan).start == d(2022, 12, 26)
    assert parse_window("五月", jan).start == d(2022, 5)
    assert parse_window("5月2日", jan).start == d(2022, 5, 2)
    dec = datetime(2023, 12, 20, tzinfo=timezone.utc)
    assert (parse_window("下个月", dec).start, parse_window("下个月", dec).end) == (d(2024, 1), d(2024, 2))
    assert parse_window("十二月", dec).start == d(2023, 12)


def test_an_impossible_chinese_date_falls_back_to_its_month():
    w = parse_window("2月30日", NOW)
    assert (w.start, w.end) == (d(2023, 2), d(2023, 3))


def test_an_absurd_count_names_no_window():
    assert parse_window("999999天前", NOW) is None
    assert parse_window("一百零五年前", NOW) is None


def test_long_chinese_text_without_punctuation():
    text = "我们聊了很多关于工作和生活的事情" * 400
    assert parse_window(text, NOW) is None
    w = parse_window(text + "前天" + text, NOW)
    assert (w.start, w.end) == (d(2023, 6, 13), d(2023, 6, 14))


@pytest.mark.parametrize("text, value", [
    ("一", 1), ("二", 2), ("两", 2), ("三", 3), ("九", 9), ("十", 10), ("十一", 11), ("十九", 19), ("二十", 20),
    ("二十三", 23), ("九十九", 99), ("一百", 100), ("一百零五", 105), ("几", 3), ("半", 0.5), ("两三", 3),
    ("一两", 2), ("23", 23), ("0", 0),
])
def test_zh_number(text, value):
    assert zh_number(text) == value


@pytest.mark.parametrize("text", ["", "abc", "三五", "二三四", "十a", "零十"])
def test_zh_number_rejects(text):
    assert zh_number(text) is None
