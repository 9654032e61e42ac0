"""What the /ui browser tests (and the inspector's screenshot / timing script) share: a real
`memlm serve` app under uvicorn in a thread, two tenants' keys, a seeded user, and a headless
Chromium driven by Playwright (Debian's /usr/bin/chromium; never a downloaded browser)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from memlm.server.app import create_app
from memlm.server.settings import ServerSettings

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str | None:
    """The system's Chromium ($MEMLM_CHROMIUM, else chromium / chromium-browser on PATH), or None."""
    for candidate in (os.environ.get("MEMLM_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def browser_missing() -> str | None:
    """Why the browser tests cannot run here (None: they can)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install 'memlm[test]')"
    if chromium_path() is None:
        return "no Chromium found (apt-get install chromium chromium-driver, or set MEMLM_CHROMIUM)"
    return None


@contextmanager
def launch_browser() -> Iterator[object]:
    """A headless Chromium (Playwright's Browser) that reaches nothing but the test server."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class LiveServer:
    url: str
    keys: dict[str, str]  # tenant -> API key

    def call(self, tenant: str, method: str, path: str, **kwargs) -> httpx.Response:
        return httpx.request(method, self.url + path, headers={"Authorization": f"Bearer {self.keys[tenant]}"},
                             timeout=60, **kwargs)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def live_server(db: Path, tenants=("acme", "globex"), encoder: str = "hashing") -> Iterator[LiveServer]:
    """The real app (every route, /ui included) served by uvicorn on a free local port."""
    app = create_app(ServerSettings(db=db, encoder=encoder, rate_limit_per_minute=0))
    keys = {t: app.state.memlm.keys.create(t)[1] for t in tenants}
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", keys)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


ANA_SESSIONS = {  # session -> (date, turns)
    "2023-05-20": ("2023-05-20 18:02", [
        ("ana", "I just signed up for the Lisbon half marathon in October"),
        ("assistant", "Great goal! How much are you running each week right now?"),
        ("ana", "About 20 kilometres, mostly along the river before work"),
        ("assistant", "Then a 12-week plan that builds to 45 km a week would suit you"),
    ]),
    "2023-06-03": ("2023-06-03 10:15", [
        ("ana", "We adopted a beagle called Pepper last weekend"),
        ("assistant", "Congratulations! How is she settling in?"),
        ("ana", "She chews every shoe in the flat, but she loves the morning runs"),
    ]),
    "2023-07-28": ("2023-07-28 21:40", [
        ("ana", "My knee hurt after the long run on Sunday"),
        ("assistant", "Rest it for a few days and swap one run for cycling"),
        ("ana", "Ok. Also my sister Marta is visiting from Porto in August"),
    ]),
}
ANA_FACTS = [  # (text, session whose first user turn it came from)
    ("Ana is allergic to peanuts", None),
    ("Ana is training for the Lisbon half marathon in October", "2023-05-20"),
    ("Ana has a beagle called Pepper", "2023-06-03"),
    ("Ana's sister Marta lives in Porto", "2023-07-28"),
]
BOB_TEXTS = ["Bob keeps bees on his roof in Oslo", "Bob's daughter plays the cello", "Bob is vegetarian"]


def seed(server: LiveServer, tenant: str = "acme", user: str = "ana") -> dict[str, str]:
    """Three sessions of turns, facts that name the episodes they came from, and a summary per
    session for `user` in `tenant`; a few facts for bob in the other tenant. Returns text -> id."""
    ids: dict[str, str] = {}
    for session, (when, turns) in ANA_SESSIONS.items():
        for i, (speaker, text) in enumerate(turns):
            minute = int(when[-2:]) + 2 * i
            body = {"messages": [{"role": speaker, "content": text}], "user_id": user, "session_id": session,
                    "occurred_at": f"{when[:-2]}{minute:02d}"}
            event = server.call(tenant, "POST", "/v1/memories", json=body).json()["events"][0]
            ids[text] = event["id"]
    for text, session in ANA_FACTS:
        sources = [ids[ANA_SESSIONS[session][1][0][1]]] if session else None
        when = ANA_SESSIONS[session or "2023-05-20"][0]  # learnt in that session (the undated one: the first)
        body = {"text": text, "user_id": user, "session_id": session, "source_ids": sources, "occurred_at": when,
                "metadata": {"source": "seed", "confidence": 0.9}}
        ids[text] = server.call(tenant, "POST", "/v1/memories", json=body).json()["events"][0]["id"]
    for session in ANA_SESSIONS:
        server.call(tenant, "POST", "/v1/memories/consolidate", json={"user_id": user, "session_id": session})
    other = next(t for t in server.keys if t != tenant)
    for text in BOB_TEXTS:
        server.call(other, "POST", "/v1/memories", json={"text": text, "user_id": "bob"})
    return ids
