"""examples/sentiment_monitor.py with a real `memlm.classify.Classifier`: a tiny random-init BERT
fine-tuned here in seconds on a toy three-class set where one cue word decides the label (the
real FinancialPhraseBank checkpoint takes ~10 minutes and is trained by the classifier's own
suite). Alerts must fire exactly when a company's negative share rises above the threshold,
from the *predicted* labels; headlines are remembered per company; the trend plot is written."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from memlm import Memory
from memlm.classify import Classifier, FineTuneConfig, fine_tune

pytestmark = pytest.mark.slow

CUES = {"negative": ["plunged", "slumped", "collapsed", "tumbled", "crashed"],
        "neutral": ["unchanged", "steady", "flat", "stable", "as expected"],
        "positive": ["soared", "jumped", "surged", "climbed", "rallied"]}
SUBJECTS = ["shares", "profit", "sales", "revenue"]
NAMES = {"A": "Acme", "B": "Bolt", "C": "Crux"}
TINY_BERT = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
             "max_position_embeddings": 64}
START = datetime(2026, 3, 2, 8, tzinfo=timezone.utc)

# Per company, the labels the stream is written to have (N negative, U neutral, P positive).
# Window 4, threshold 0.5 (an alert needs 3 of the last 4 negative):
#   A: share 0.5 at 3 (not above), 0.75 at 4 -> ALERT, stays above at 5-6, 0.5 at 7 (re-armed),
#      0.75 again at 10 -> ALERT
#   B: one negative in a window at most; C: exactly 0.5 from 3 on (never above)
PLAN = {"A": "PNPNNNPPNNNU", "B": "UPUNUPUU", "C": "NPNPNPNP"}
EXPECTED_ALERTS = [("A", 4, 0.75), ("A", 10, 0.75)]
LETTER = {"N": "negative", "U": "neutral", "P": "positive"}


def text(company: str, label: str, i: int) -> str:
    return f"{NAMES[company]} {SUBJECTS[i % len(SUBJECTS)]} {CUES[label][i % 5]}"


def when(company: str, i: int) -> datetime:
    return START + timedelta(hours=i, minutes=10 * "ABC".index(company))


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clf")
    rows = [{"text": f"{name} {s} {cue}", "label": label}
            for name in NAMES.values() for s in SUBJECTS for label, cues in CUES.items() for cue in cues]
    data = folder / "toy.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    cfg = FineTuneConfig(epochs=12, batch_size=8, lr=3e-3, threads=1, pretrained=False, bert=dict(TINY_BERT),
                         patience=0, max_len=32)
    return fine_tune(data, folder / "toy.pt", cfg)["checkpoint"]


@pytest.fixture(scope="module")
def classifier(checkpoint) -> Classifier:
    return Classifier.load(checkpoint)


@pytest.fixture
def stream(sentiment_monitor):
    """The planned headlines of the three companies, interleaved in time order."""
    items = [(when(c, i), sentiment_monitor.Headline(c, text(c, LETTER[x], i), when(c, i)), LETTER[x])
             for c, plan in PLAN.items() for i, x in enumerate(plan)]
    items.sort(key=lambda t: t[0])
    return [h for _, h, _ in items], [y for _, _, y in items]


def test_alerts_fire_exactly_when_the_negative_share_crosses_the_threshold(tmp_path, sentiment_monitor, classifier,
                                                                           stream, minilm):
    headlines, planned = stream
    assert classifier.labels == ["negative", "neutral", "positive"]
    assert [p.label for p in classifier.predict([h.text for h in headlines])] == planned  # it learned the cues
    for batch_size in (5, 64):  # batches that straddle companies change nothing
        with Memory(tmp_path / f"news{batch_size}.db", encoder=minilm) as m:
            monitor = sentiment_monitor.SentimentMonitor(m, classifier, window=4, threshold=0.5)
            alerts = monitor.process(headlines, batch_size=batch_size)
            assert [(a.company, a.time, a.negative_share) for a in alerts] == [
                (c, when(c, i), share) for c, i, share in EXPECTED_ALERTS]
            assert monitor.alerts == alerts
            assert [h.text for h in alerts[0].negatives] == [text("A", "negative", i) for i in (1, 3, 4)]
            shares = [s.negative_share for s in monitor.trend if s.headline.company == "C"]
            assert shares == [None] * 3 + [0.5] * 5


def test_the_monitor_uses_predicted_labels_not_gold_ones(tmp_path, sentiment_monitor, classifier, minilm):
    # a PhraseBank-style file whose gold labels all say "positive": they are dropped on reading
    fpb = tmp_path / "fpb.txt"
    sentences = [text("A", LETTER[x], i) for i, x in enumerate("NNNN")]
    fpb.write_text("\n".join(f"{s}@positive" for s in sentences) + "\n", encoding="utf-8")
    headlines = sentiment_monitor.load_headlines(fpb, companies=["A"])
    assert [h.text for h in headlines] == sentences and {h.company for h in headlines} == {"A"}
    assert [h.time - headlines[0].time for h in headlines] == [timedelta(hours=i) for i in range(4)]
    with Memory(tmp_path / "n.db", encoder=minilm) as m:
        alerts = sentiment_monitor.SentimentMonitor(m, classifier, window=4, threshold=0.5).process(headlines)
    assert [(a.company, a.negative_share) for a in alerts] == [("A", 1.0)]


def test_headlines_are_remembered_per_company(tmp_path, sentiment_monitor, classifier, stream, minilm):
    headlines, _ = stream
    db = tmp_path / "news.db"
    with Memory(db, encoder=minilm) as m:
        sentiment_monitor.SentimentMonitor(m, classifier, window=4, threshold=0.5).process(headlines, batch_size=7)
    with Memory(db, encoder=minilm) as m:  # a new handle: it is all in the file
        for company, plan in PLAN.items():
            stored = m.list(user_id=company, kinds=["episode"], limit=100)
            assert [r.text for r in stored] == [text(company, LETTER[x], i) for i, x in enumerate(plan)]
            assert [r.metadata["sentiment"] for r in stored] == [LETTER[x] for x in plan]
            assert all(r.agent_id == sentiment_monitor.AGENT and r.role == "newswire" for r in stored)
            assert [r.occurred_at for r in stored] == [when(company, i) for i in range(len(plan))]
            assert all(r.session_id == r.occurred_at.date().isoformat() for r in stored)
            hits = m.search("shares plunged", user_id=company, k=5)
            assert hits and all(h.memory.user_id == company for h in hits)
        top = m.search("why did Acme shares crash?", user_id="A", k=1)[0].memory
        assert top.text == text("A", "negative", 4) == "Acme shares crashed" and top.metadata["sentiment"] == "negative"
        assert set(top.metadata["scores"]) == {"negative", "neutral", "positive"}


def test_the_trend_plot_is_written(tmp_path, sentiment_monitor, classifier, stream, minilm):
    headlines, _ = stream
    with Memory(tmp_path / "news.db", encoder=minilm) as m:
        monitor = sentiment_monitor.SentimentMonitor(m, classifier, window=4, threshold=0.5)
        alerts = monitor.process(headlines)
    png = sentiment_monitor.plot_trend(monitor.trend, alerts, 0.5, tmp_path / "trend.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_main_end_to_end(tmp_path, sentiment_monitor, checkpoint, stream, capsys):
    headlines, _ = stream
    rows = [{"time": h.time.isoformat(), "company": h.company, "text": h.text} for h in headlines]
    data = tmp_path / "headlines.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    plot = tmp_path / "trend.png"
    args = ["--checkpoint", str(checkpoint), "--stream", str(data), "--window", "4", "--threshold", "0.5",
            "--plot", str(plot), "--encoder", "hashing"]
    assert sentiment_monitor.main([*args, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(a["company"], a["negative_share"]) for a in out] == [("A", 0.75), ("A", 0.75)]
    assert plot.is_file()
    assert sentiment_monitor.main(args) == 0
    assert capsys.readouterr().out.count("ALERT A at") == 2
    with pytest.raises(SystemExit):
        sentiment_monitor.main(["--checkpoint", str(tmp_path / "missing.pt")])
