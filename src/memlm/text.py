"""Small text utilities shared by the write gate and the read path, in English and Chinese.

Chinese is written without spaces, so a run of Han characters is segmented into words
(rjieba: jieba's dictionary and HMM, in Rust) wherever words are counted or matched.
"""

from __future__ import annotations

import functools
import hashlib
import re

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?", re.UNICODE)
# Han ideographs (CJK Unified Ideographs, Extension A, compatibility ideographs, Extensions B-F)
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef]+")

# English function words: they carry no topic, so they neither match nor count as overlap.
STOPWORDS = frozenset(
    """a about above after again against all am an and any are aren't as at be because been before being
    below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down
    during each few for from further had hadn't has hasn't have haven't having he he'd he'll he's her here
    here's hers herself him himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself
    let's me more most mustn't my myself no nor not of off on once only or other ought our ours ourselves
    out over own same shan't she she'd she'll she's should shouldn't so some such than that that's the
    their theirs them themselves then there there's these they they'd they'll they're they've this those
    through to too under until up very was wasn't we we'd we'll we're we've were weren't what what's when
    when's where where's which while who who's whom why why's with won't would wouldn't you you'd you'll
    you're you've your yours yourself yourselves also just really so yeah yes oh ok okay hey hi hello
    thanks thank will get got going go like lot lots much many thing things something anything
    """.split()
)


# Chinese function words, pronouns and question words: like STOPWORDS, they name no topic.
ZH_STOPWORDS = frozenset(
    """我 你 您 他 她 它 我们 你们 他们 她们 咱们 自己 的 地 得 了 着 过 吗 呢 吧 啊 呀 哦 嗯 哈 么 嘛 是 在 有 和 与 及
    跟 同 或 或者 还是 就 都 也 还 又 才 很 太 最 更 非常 这 那 这个 那个 这些 那些 这里 那里 这儿 那儿 个 一个 一些
    些 把 被 给 对 向 从 到 为 为了 让 使 因为 所以 但是 但 而且 而 如果 虽然 可是 然后 就是 不是 没有 没 不 要 会 能
    可以 想 觉得 知道 说 告诉 记得 一下 一点 什么 怎么 怎么样 怎样 为什么 哪 哪里 哪儿 哪些 哪个 谁 多少 几 吗 呢
    是否 是不是 有没有 请 请问 谢谢 好 好的 嗯嗯 哈哈 呵呵 啦 哇 喔 么 之 其 以 于 上 下 里 中""".split()
)


def words(text: str) -> list[str]:
    """Lower-cased word tokens (letters and digits, inner apostrophes kept); Chinese runs are
    segmented into words (我对花生过敏 -> 我 对 花生 过敏)."""
    out: list[str] = []
    for w in _WORD.findall(text):
        w = w.lower().replace("\u2019", "'")
        if _HAN.search(w) is None:
            out.append(w)
        else:
            out.extend(_split_mixed(w, search=False))
    return out


def search_words(text: str) -> list[str]:
    """`words`, but a long Chinese word is also given as its dictionary parts (上海浦东 ->
    上海 浦东 上海浦东): what an index needs so a query for a part finds the whole."""
    out: list[str] = []
    for w in _WORD.findall(text):
        w = w.lower().replace("\u2019", "'")
        out.extend([w] if _HAN.search(w) is None else _split_mixed(w, search=True))
    return out


def has_han(text: str) -> bool:
    """Whether the text contains Chinese (Han) characters."""
    return _HAN.search(text) is not None


def segment(text: str, *, search: bool = False) -> str:
    """The text with every Chinese run split into space-separated words, everything else
    unchanged (for a tokenizer that splits on spaces, such as FTS5's unicode61)."""
    if _HAN.search(text) is None:
        return text
    return _HAN.sub(lambda m: " " + " ".join(_cut(m.group(0), search)) + " ", text)


def _split_mixed(token: str, *, search: bool) -> list[str]:
    """A word token containing Han runs: the runs segmented, the letters/digits between kept."""
    out: list[str] = []
    pos = 0
    for m in _HAN.finditer(token):
        if m.start() > pos:
            out.append(token[pos:m.start()])
        out.extend(_cut(m.group(0), search))
        pos = m.end()
    if pos < len(token):
        out.append(token[pos:])
    return out


@functools.lru_cache(maxsize=65536)
def _cut(run: str, search: bool) -> tuple[str, ...]:
    """One run of Han characters as words (cached: the same phrases recur in a conversation)."""
    import rjieba

    pieces = rjieba.cut_for_search(run) if search else rjieba.cut(run)
    return tuple(p for p in (x.strip() for x in pieces) if p)


def stem(word: str) -> str:
    """A light suffix stripper: enough to match plural/verb forms in overlap tests."""
    if word.endswith("'s"):
        word = word[:-2]
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            return word[: -len(suffix)] + keep
    return word


def content_words(text: str) -> list[str]:
    """Stemmed words that are not stop words, in order."""
    return [stem(w) for w in words(text)
            if (w not in STOPWORDS and w not in ZH_STOPWORDS and (len(w) > 1 or has_han(w))) or w.isdigit()]


def memory_text(text: str, role: str | None = None, metadata: dict | None = None) -> str:
    """What the indexes see of a memory: "Speaker: text [shares a photo of caption]".

    Both the lexical index and the embedding use it, so a turn is found by who said it
    and by what an image it shared showed.
    """
    out = f"{role}: {text}" if role else text
    caption = metadata.get("caption") if isinstance(metadata, dict) else None
    if isinstance(caption, str) and caption.strip():
        out += f" [shares a photo of {caption.strip()}]"
    return out


def norm_hash(text: str) -> str:
    """Hash of the text with case and whitespace normalised (exact-duplicate detection)."""
    return hashlib.blake2b(" ".join(text.lower().split()).encode(), digest_size=16).hexdigest()
