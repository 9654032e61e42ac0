"""Financial news sentiment monitoring: classify headlines, remember them per company, alert.

What it shows
-------------
- A stream of headlines (examples/data/headlines.jsonl: three fictional companies over two
  days, or the Financial PhraseBank's `text@label` file, whose sentences are dealt round-robin
  to three companies with hourly timestamps) is classified in batches by the fine-tuned
  MiniLM classifier (`memlm.classify.Classifier`). Only its *predicted* labels are used:
  gold labels in the input are ignored.
- Each headline is remembered as an `episode` of its company (`user_id` = the ticker,
  `agent_id` = "news-monitor", `session_id` = the day, `occurred_at` = its time) with the predicted label and class
  probabilities in its metadata, so later questions are scoped per company:
  `memory.search("why did the shares fall?", user_id="NRVK")`.
- For each company the monitor keeps the last `--window` headlines and raises an alert when
  the share of negative ones rises above `--threshold` (once per crossing: it re-arms when
  the share falls back to the threshold or below). A full window is needed before a share
  is computed.
- The negative share per company over time is plotted, with the threshold and the alerts
  (matplotlib PNG).

The classifier comes from `memlm train classifier` (a full fine-tune takes ~10 minutes on CPU):
    memlm train classifier --data ../shared/data/financial_phrasebank/Sentences_AllAgree.txt --out out/classifier.pt

Run:
    python examples/sentiment_monitor.py --checkpoint out/classifier.pt            # the shipped headlines
    python examples/sentiment_monitor.py --checkpoint out/classifier.pt \\
        --stream ../shared/data/financial_phrasebank/Sentences_AllAgree.txt --limit 300 --window 10 --threshold 0.3
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Protocol

from memlm import Memory

HEADLINES = Path(__file__).resolve().parent / "data" / "headlines.jsonl"
AGENT = "news-monitor"  # the agent_id the monitor's memories are written under
DEFAULT_CHECKPOINT = os.environ.get("MEMLM_CLASSIFIER", "out/classifier.pt")  # where `memlm train classifier` writes


class SentimentClassifier(Protocol):
    """What the monitor needs of `memlm.classify.Classifier`."""

    labels: list[str]

    def predict(self, texts: Sequence[str]) -> list:  # items with .label and .scores
        ...


@dataclass
class Headline:
    company: str  # ticker: the memory owner (user_id)
    text: str
    time: datetime


@dataclass
class Scored:
    """A headline with its predicted sentiment and its company's negative share after it."""

    headline: Headline
    label: str
    scores: dict[str, float]
    negative_share: float | None  # None until the company's window is full


@dataclass
class Alert:
    company: str
    time: datetime  # of the headline that pushed the share over the threshold
    negative_share: float
    negatives: list[Headline] = field(default_factory=list)  # the window's negative headlines


class SentimentMonitor:
    """Classifies headlines in batches, remembers them per company and raises alerts."""

    def __init__(self, memory: Memory, classifier: SentimentClassifier, *, window: int = 6,
                 threshold: float = 0.5, negative_label: str = "negative") -> None:
        if negative_label not in classifier.labels:
            raise ValueError(f"the classifier has no {negative_label!r} label (it has {classifier.labels})")
        if window < 1 or not 0 <= threshold < 1:
            raise ValueError("window must be >= 1 and 0 <= threshold < 1")
        self.memory, self.classifier = memory, classifier
        self.window, self.threshold, self.negative_label = window, threshold, negative_label
        self.recent: dict[str, deque[Scored]] = defaultdict(lambda: deque(maxlen=window))  # per company
        self.alerting: set[str] = set()  # companies above the threshold now (no repeat alerts)
        self.trend: list[Scored] = []  # everything seen, in order
        self.alerts: list[Alert] = []

    def process(self, headlines: Iterable[Headline], batch_size: int = 64) -> list[Alert]:
        """Classify, remember and check a stream (in time order); returns the new alerts."""
        new: list[Alert] = []
        batch: list[Headline] = []
        for h in headlines:
            batch.append(h)
            if len(batch) == batch_size:
                new += self._batch(batch)
                batch = []
        if batch:
            new += self._batch(batch)
        return new

    def _batch(self, batch: list[Headline]) -> list[Alert]:
        predictions = self.classifier.predict([h.text for h in batch])
        # one write for the batch: each headline is an episode of its company (user_id), on its day
        # (session_id), owned by this monitor (agent_id), with the predicted sentiment in its metadata
        self.memory.add([{"role": "newswire", "content": h.text, "user_id": h.company,
                          "session_id": h.time.date().isoformat(), "occurred_at": h.time,
                          "metadata": {"sentiment": p.label, "scores": {k: round(v, 4) for k, v in p.scores.items()}}}
                         for h, p in zip(batch, predictions)], agent_id=AGENT)
        return [a for h, p in zip(batch, predictions) if (a := self._check(h, p.label, p.scores))]

    def _check(self, h: Headline, label: str, scores: dict[str, float]) -> Alert | None:
        window = self.recent[h.company]
        scored = Scored(h, label, scores, None)
        window.append(scored)
        if len(window) == self.window:
            scored.negative_share = sum(s.label == self.negative_label for s in window) / self.window
        self.trend.append(scored)
        share = scored.negative_share
        if share is None or share <= self.threshold:
            self.alerting.discard(h.company)  # re-armed
            return None
        if h.company in self.alerting:
            return None  # still above: alerted already
        self.alerting.add(h.company)
        alert = Alert(h.company, h.time, share, [s.headline for s in window if s.label == self.negative_label])
        self.alerts.append(alert)
        return alert


def load_headlines(path: str | Path = HEADLINES, *, limit: int | None = None,
                   companies: Sequence[str] = ("ACME", "BOLT", "CRUX"),
                   start: datetime = datetime(2026, 3, 2, 8, tzinfo=timezone.utc)) -> list[Headline]:
    """A JSONL stream ({"company", "text", "time"}), or a Financial PhraseBank `text@label` file
    whose sentences are dealt round-robin to `companies`, one per hour from `start` (labels dropped)."""
    path = Path(path)
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()][:limit]
    if path.suffix == ".jsonl":
        rows = [json.loads(ln) for ln in lines]
        return [Headline(r["company"], r["text"], datetime.fromisoformat(r["time"].replace("Z", "+00:00")))
                for r in rows]
    return [Headline(companies[i % len(companies)], ln.rsplit("@", 1)[0].strip(), start + timedelta(hours=i))
            for i, ln in enumerate(lines)]


def plot_trend(trend: list[Scored], alerts: list[Alert], threshold: float, path: str | Path) -> Path:
    """The negative share of each company's window over time, the threshold and the alerts, as a PNG."""
    from matplotlib.figure import Figure  # no pyplot: no GUI backend or global state needed

    fig = Figure(figsize=(9, 4.5))
    ax = fig.subplots()
    by_company: dict[str, list[Scored]] = defaultdict(list)
    for s in trend:
        if s.negative_share is not None:
            by_company[s.headline.company].append(s)
    for company, points in sorted(by_company.items()):
        ax.plot([p.headline.time for p in points], [p.negative_share for p in points], marker=".", label=company)
    ax.axhline(threshold, color="grey", linestyle="--", label=f"threshold {threshold:.0%}")
    if alerts:
        ax.scatter([a.time for a in alerts], [a.negative_share for a in alerts], s=120, facecolors="none",
                   edgecolors="red", linewidths=2, zorder=3, label="alert")
    ax.set(ylim=(-0.05, 1.05), ylabel="negative share of window", title="Negative news per company")
    ax.legend(loc="upper left", fontsize="small")
    fig.autofmt_xdate()
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    return path


def load_classifier(checkpoint: str | Path):
    """The fine-tuned classifier (torch and transformers load here, not at import)."""
    from memlm.classify import Classifier

    return Classifier.load(checkpoint)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", default=DEFAULT_CHECKPOINT,
                        help="classifier from `memlm train classifier` "
                             "[env MEMLM_CLASSIFIER; default out/classifier.pt]")
    parser.add_argument("--stream", default=str(HEADLINES), help="headlines: .jsonl, or a PhraseBank text@label file")
    parser.add_argument("--limit", type=int, default=None, help="read at most this many headlines")
    parser.add_argument("--window", type=int, default=6, help="headlines per company in the window")
    parser.add_argument("--threshold", type=float, default=0.5, help="alert when the negative share exceeds this")
    parser.add_argument("--db", help="memory file (default: a fresh temporary file)")
    parser.add_argument("--encoder", default=None, help="encoder spec for the memory (default: the packaged MiniLM)")
    parser.add_argument("--plot", default="sentiment_trend.png", help="where to write the trend PNG")
    parser.add_argument("--json", action="store_true", help="print the alerts as JSON")
    args = parser.parse_args(argv)
    if not Path(args.checkpoint).is_file():
        parser.error(f"no classifier at {args.checkpoint}; train one with: memlm train classifier --data "
                     "../shared/data/financial_phrasebank/Sentences_AllAgree.txt --out out/classifier.pt")

    classifier = load_classifier(args.checkpoint)
    headlines = load_headlines(args.stream, limit=args.limit)
    with tempfile.TemporaryDirectory() as tmp, Memory(args.db or Path(tmp) / "news.db", encoder=args.encoder) as memory:
        monitor = SentimentMonitor(memory, classifier, window=args.window, threshold=args.threshold)
        alerts = monitor.process(headlines)
        png = plot_trend(monitor.trend, alerts, args.threshold, args.plot)
        if args.json:
            print(json.dumps([{"company": a.company, "time": a.time.isoformat(), "negative_share": a.negative_share,
                               "negatives": [h.text for h in a.negatives]} for a in alerts], indent=2))
            return 0
        counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(classifier.labels, 0))
        for s in monitor.trend:
            counts[s.headline.company][s.label] += 1
        print(f"{len(headlines)} headlines classified; predicted labels per company:")
        for company, c in sorted(counts.items()):
            print(f"  {company}: " + ", ".join(f"{k} {v}" for k, v in c.items()))
        for a in alerts:
            print(f"\nALERT {a.company} at {a.time:%Y-%m-%d %H:%M}: {a.negative_share:.0%} of the last "
                  f"{args.window} headlines are negative (threshold {args.threshold:.0%})")
            for h in a.negatives:
                print(f"  - [{h.time:%m-%d %H:%M}] {h.text}")
            # the memory answers questions about the company later, scoped to it
            print(f"  recalled for 'why did the shares fall?' (user_id={a.company}):")
            for hit in memory.search("why did the shares fall?", user_id=a.company, k=3):
                print(f"    {hit.score:.2f} [{hit.memory.metadata['sentiment']}] {hit.memory.text}")
        if not alerts:
            print("\nno alerts")
        print(f"\ntrend plot: {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
