"""Small text utilities shared by the write gate and the read path."""

from __future__ import annotations

import hashlib
import re

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?", re.UNICODE)

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


def words(text: str) -> list[str]:
    """Lower-cased word tokens (letters and digits, inner apostrophes kept)."""
    return [w.lower().replace("\u2019", "'") for w in _WORD.findall(text)]


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
    return [stem(w) for w in words(text) if (w not in STOPWORDS and len(w) > 1) or w.isdigit()]


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
