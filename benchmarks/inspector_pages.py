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
sys.path.insert(0, str(ROOT))

from tests.server.ui_support import launch_browser, live_server, seed  # noqa: E402

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


def timing(memories: int, encoder: str, runs: int) -> dict:
    turns = locomo_turns()
    with tempfile.TemporaryDirectory() as tmp, live_server(Path(tmp) / "big.db", encoder=encoder) as server:
        started = time.perf_counter()
        batch, done, rep = [], 0, 0
        while done < memories:
            for session, speaker, text in turns:
                if done >= memories:
                    break
                batch.append({"role": speaker, "content": text})
                done += 1
                if len(batch) == 100 or done >= memories:
                    r = server.call("acme", "POST", "/v1/memories", json={
                        "messages": batch, "user_id": "big", "session_id": f"r{rep}-{session}"})
                    r.raise_for_status()
                    batch = []
            rep += 1
        ingest_s = time.perf_counter() - started
        stored = server.call("acme", "GET", "/v1/owners").json()["owners"][0]["counts"]["total"]
        loads = []
        with launch_browser() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            sign_in(page, server)
            for i in range(runs):
                query = QUERIES[i % len(QUERIES)]
                url = server.url + "/ui/#/search?" + urlencode({"q": query, "user_id": "big", "k": 10, "budget": 500})
                page.goto(server.url + "/ui/#/")
                page.get_by_role("heading", name="Users and agents").wait_for()
                t0 = time.perf_counter()
                page.goto(url)
                page.locator("#context").wait_for()
                page.locator("svg.chart.small").wait_for()
                loads.append((time.perf_counter() - t0) * 1000)
            owner_t0 = time.perf_counter()
            page.goto(server.url + "/ui/#/owner?user_id=big")
            page.locator("svg.chart").wait_for()
            page.locator("table.memories").wait_for()
            owner_ms = (time.perf_counter() - owner_t0) * 1000
    warm = loads[1:]
    return {"memories": stored, "encoder": encoder, "ingest_s": round(ingest_s, 1), "runs": runs,
            "search_view_cold_ms": round(loads[0], 1), "search_view_median_ms": round(statistics.median(warm), 1),
            "search_view_max_ms": round(max(warm), 1), "owner_page_ms": round(owner_ms, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["screenshots", "timing"])
    parser.add_argument("--memories", type=int, default=10_000)
    parser.add_argument("--encoder", default="minilm")
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    if args.what == "screenshots":
        screenshots(args.encoder)
    else:
        print(json.dumps(timing(args.memories, args.encoder, args.runs)))


if __name__ == "__main__":
    main()
