"""The web inspector's screenshots (docs/inspector/*.png) and the load time of its search view.

    PYTHONPATH=src:. python benchmarks/inspector_pages.py screenshots        # the seeded user of the tests
    PYTHONPATH=src:. python benchmarks/inspector_pages.py timing --memories 10000 --encoder minilm

`timing` puts N memories in one user (LoCoMo's turns from ../shared/data/locomo, repeated over
sessions), then opens the search view in headless Chromium for several queries and reports how
long the page takes from navigation until the hits, the chart and the context block are drawn
(median and max over the runs; the first, cold run is reported apart).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.server.ui_support, imported where it is used (after this)

SHOTS = ROOT / "docs" / "inspector"
QUERIES = ["when did Caroline go to the LGBTQ support group?", "what did Melanie paint?",
           "what is Jon's dance studio called?", "where did Gina go on holiday?", "what books does Caroline read?",
           "who has a dog?", "what happened last summer?", "what instrument does Melanie play?"]


def sign_in(page, server, tenant="acme") -> None:
    page.goto(server.url + "/ui/")
    page.get_by_label("API key").fill(server.keys[tenant])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Users and agents").wait_for()


def screenshots(encoder: str) -> None:
    from tests.server.ui_support import launch_browser, live_server, seed

    SHOTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, live_server(Path(tmp) / "ui.db", encoder=encoder) as server:
        ids = seed(server)
        for body in ({"text": "Ben prefers email to phone calls", "user_id": "ben", "occurred_at": "2023-07-02"},
                     {"messages": [{"role": "ben", "content": "Can you move my delivery to Friday?"}], "user_id": "ben",
                      "session_id": "support-17", "occurred_at": "2023-07-02 09:30"},
                     {"text": "Escalate refund requests over 100 EUR", "agent_id": "support-bot",
                      "occurred_at": "2023-04-11"}):
            server.call("acme", "POST", "/v1/memories", json=body)
        fact = "Ana's sister Marta lives in Porto"
        server.call("acme", "PATCH", f"/v1/memories/{ids[fact]}", json={"text": "Ana's sister Marta moved to Coimbra"})
        with launch_browser() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
            page.goto(server.url + "/ui/")
            page.get_by_label("API key").wait_for()
            page.screenshot(path=str(SHOTS / "signin.png"))
            sign_in(page, server)
            page.screenshot(path=str(SHOTS / "owners.png"))
            page.goto(server.url + "/ui/#/owner?user_id=ana")
            page.locator("svg.chart").wait_for()
            page.screenshot(path=str(SHOTS / "owner.png"), full_page=True)
            page.goto(server.url + "/ui/#/session?user_id=ana&session_id=2023-06-03")
            page.locator("#turns").wait_for()
            page.screenshot(path=str(SHOTS / "session.png"), full_page=True)
            page.goto(server.url + "/ui/#/search?" + urlencode({"q": "what is the dog called?", "user_id": "ana",
                                                                "k": 6, "budget": 300}))
            page.locator("#hits").wait_for()
            page.screenshot(path=str(SHOTS / "search.png"), full_page=True)
            page.goto(f"{server.url}/ui/#/memory/{ids[fact]}")
            page.locator("#history").wait_for()
            page.screenshot(path=str(SHOTS / "memory.png"), full_page=True)
    print(json.dumps({"screenshots": sorted(p.name for p in SHOTS.glob("*.png"))}))


def locomo_turns() -> list[tuple[str, str, str]]:
    """(session, speaker, text) of every LoCoMo dev turn."""
    from memlm.bench.locomo_data import find_locomo

    data = json.loads(find_locomo().read_text(encoding="utf-8"))
    data = data if isinstance(data, list) else [data]
    out = []
    for c, conv in enumerate(data):
        talk = conv["conversation"]
        for key, turns in talk.items():
            if key.startswith("session_") and isinstance(turns, list):
                for t in turns:
                    out.append((f"c{c}-{key}", t["speaker"], t["text"]))
    return out


def _ingest(server, memories: int) -> None:
    """`memories` LoCoMo turns for user `big`, a session's turns in one request (repeated as new sessions)."""
    turns = locomo_turns()
    done = rep = 0
    while done < memories:
        sessions: dict[str, list[dict]] = {}
        for session, speaker, text in turns[:memories - done]:
            sessions.setdefault(session, []).append({"role": speaker, "content": text})
        for session, batch in sessions.items():
            r = server.call("acme", "POST", "/v1/memories", json={
                "messages": batch, "user_id": "big", "session_id": f"r{rep}-{session}"})
            r.raise_for_status()
            done += len(batch)
        rep += 1


def timing(memories: int, encoder: str, runs: int, db: str | None = None) -> dict:
    """Page load of the search view (navigation until hits, chart and context block are drawn),
    the part of it spent in the two API calls (as the page measures them), and the same two
    calls made directly; `db`: keep the file (an existing one is reused, not filled again)."""
    from tests.server.ui_support import launch_browser, live_server

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(db) if db else Path(tmp) / "big.db"
        fill = not path.exists()
        with live_server(path, encoder=encoder) as server:
            started = time.perf_counter()
            if fill:
                _ingest(server, memories)
            ingest_s = time.perf_counter() - started
            stored = server.call("acme", "GET", "/v1/owners").json()["owners"][0]["counts"]["total"]
            loads, inpage, direct = [], [], []
            with launch_browser() as browser:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                sign_in(page, server)
                for i in range(runs):
                    query = QUERIES[i % len(QUERIES)]
                    url = server.url + "/ui/#/search?" + urlencode({"q": query, "user_id": "big", "k": 10,
                                                                    "budget": 500})
                    page.goto(server.url + "/ui/#/")
                    page.get_by_role("heading", name="Users and agents").wait_for()
                    t0 = time.perf_counter()
                    page.goto(url)
                    page.locator("#context").wait_for()
                    page.locator("svg.chart.small").wait_for()
                    loads.append((time.perf_counter() - t0) * 1000)
                    inpage.append(float(page.locator("#search-stats").inner_text().split("took ")[1].split(" ms")[0]))
                    t0 = time.perf_counter()
                    server.call("acme", "POST", "/v1/memories/search", json={"query": query, "user_id": "big", "k": 10})
                    server.call("acme", "POST", "/v1/context", json={"query": query, "user_id": "big", "k": 10,
                                                                    "budget_tokens": 500})
                    direct.append((time.perf_counter() - t0) * 1000)
                owner_t0 = time.perf_counter()
                page.goto(server.url + "/ui/#/owner?user_id=big")
                page.locator("svg.chart").wait_for()
                page.locator("table.memories").wait_for()
                owner_ms = (time.perf_counter() - owner_t0) * 1000
    med = lambda xs: round(statistics.median(xs[1:] or xs), 1)
    return {"memories": stored, "encoder": encoder, "ingest_s": round(ingest_s, 1) if fill else None, "runs": runs,
            "search_view_cold_ms": round(loads[0], 1), "search_view_median_ms": med(loads),
            "search_view_max_ms": round(max(loads[1:] or loads), 1), "in_page_api_median_ms": med(inpage),
            "direct_search_plus_context_median_ms": med(direct), "owner_page_ms": round(owner_ms, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["screenshots", "timing"])
    parser.add_argument("--memories", type=int, default=10_000)
    parser.add_argument("--encoder", default="minilm")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--db", help="keep the memory file here (an existing one is reused as it is)")
    args = parser.parse_args()
    if args.what == "screenshots":
        screenshots(args.encoder)
    else:
        print(json.dumps(timing(args.memories, args.encoder, args.runs, args.db)))


if __name__ == "__main__":
    main()
