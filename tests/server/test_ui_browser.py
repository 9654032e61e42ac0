"""The web inspector (/ui) driven in a real headless Chromium: sign in, browse, search with
reasons, a memory's page (edit -> history, delete), forget a user, export, and tenant B's key
never showing tenant A's memories on any page. Skips only where no browser can be found."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from tests.server.ui_support import ANA_FACTS, ANA_SESSIONS, browser_missing, launch_browser, live_server, seed

REASON = browser_missing()
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(REASON is not None, reason=f"no browser for the /ui tests: {REASON}")]
ANA_TEXTS = [t for _, turns in ANA_SESSIONS.values() for _, t in turns] + [t for t, _ in ANA_FACTS]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with live_server(tmp_path_factory.mktemp("ui") / "ui.db") as server:
        ids = seed(server)
        yield server, ids


@pytest.fixture(scope="module")
def browser(site):
    with launch_browser() as b:
        yield b


@pytest.fixture
def page(browser, site):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    # a bad key's 401 and another tenant's 404 are expected; nothing else may go wrong in the page
    expected = "Failed to load resource: the server responded with a status of 4"
    pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" and
          not msg.text.startswith(expected) else None)
    outside: list[str] = []
    pg.on("request", lambda req: outside.append(req.url) if not req.url.startswith(site[0].url) else None)
    pg.set_default_timeout(20_000)
    yield pg
    context.close()
    assert not outside, f"the inspector reached outside the server: {outside}"
    assert not errors, f"errors in the page: {errors}"


def sign_in(page, server, tenant="acme"):
    page.goto(server.url + "/ui")
    page.get_by_label("API key").fill(server.keys[tenant])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Users and agents").wait_for()


def test_sign_in_keeps_the_key_in_session_storage_only(page, site):
    server, _ = site
    page.goto(server.url + "/ui/")
    assert page.url.endswith("#/signin")
    page.get_by_label("API key").fill("mlm_not_a_key")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("alert").filter(has_text="not valid").wait_for()
    assert page.evaluate("sessionStorage.getItem('memlm.apiKey')") is None
    sign_in(page, server)
    assert page.evaluate("sessionStorage.getItem('memlm.apiKey')") == server.keys["acme"]
    assert page.context.cookies() == [] and server.keys["acme"] not in page.url
    row = page.locator("#owners tbody tr").filter(has_text="user ana")
    cells = row.locator("td").all_inner_texts()
    assert cells[:3] == ["10", "4", "3"]  # episodes, facts, summaries
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("API key").wait_for()
    assert page.evaluate("sessionStorage.getItem('memlm.apiKey')") is None


def test_browse_a_user_sessions_timeline_and_filters(page, site):
    server, _ = site
    sign_in(page, server)
    page.get_by_role("link", name="user ana").click()
    page.get_by_role("heading", name="user ana", exact=True).wait_for()
    assert page.locator("#sessions tbody tr").count() == 4  # three sessions and the fact outside any
    chart = page.locator("svg.chart")
    assert chart.locator("rect.bar-episode").count() == 3  # one bar per day that has turns
    assert "memories over" in chart.get_attribute("aria-label")
    # filters: kind and text
    page.get_by_label("fact", exact=True).check()
    page.get_by_label("Text contains").fill("PEPPER")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"text=PEPPER"))
    rows = page.locator("table.memories tbody tr")
    rows.first.wait_for()
    assert rows.all_inner_texts() and all("Pepper" in r for r in rows.all_inner_texts())
    assert rows.count() == 1
    # time range: only the July session's turns
    page.goto(server.url + "/ui/#/owner?user_id=ana&kind=episode&since=2023-07-01&until=2023-08-01")
    page.locator("table.memories tbody tr").first.wait_for()
    texts = page.locator("table.memories tbody tr").all_inner_texts()
    assert len(texts) == 3 and any("knee" in t for t in texts)
    # a session: its turns in order with speakers, its summary and its facts
    page.goto(server.url + "/ui/#/owner?user_id=ana")
    page.get_by_role("link", name="2023-06-03", exact=True).click()
    page.get_by_role("heading", name="Session 2023-06-03").wait_for()
    turns = page.locator("#turns li")
    assert turns.count() == 3
    assert turns.nth(0).locator(".speaker").inner_text() == "ana"
    assert turns.nth(1).locator(".speaker").inner_text() == "assistant"
    assert "beagle called Pepper" in turns.nth(0).inner_text() and "2023-06-03 10:15" in turns.nth(0).inner_text()
    assert "Ana has a beagle called Pepper" in page.locator("ul.facts").inner_text()
    assert page.locator("p.summary").count() == 1


def test_search_shows_ranked_hits_reasons_and_the_context_block(page, site):
    server, _ = site
    sign_in(page, server)
    page.get_by_role("link", name="Search", exact=True).click()
    page.get_by_label("Query").fill("what is the dog called?")
    page.get_by_label("User").fill("ana")
    page.get_by_label("Context budget (tokens)").fill("300")
    page.get_by_role("button", name="Search", exact=True).click()
    hits = page.locator("#hits > li")
    hits.first.wait_for()
    assert "Pepper" in hits.first.inner_text()
    scores = [float(s) for s in page.locator("#hits .score").evaluate_all("els => els.map(e => e.dataset.score)")]
    assert scores == sorted(scores, reverse=True) and len(scores) == 10
    reasons = set(hits.first.locator(".reason").evaluate_all("els => els.map(e => e.dataset.reason)"))
    assert {"score", "dense", "lexical"} <= reasons
    widths = hits.first.locator(".reason .fill").evaluate_all("els => els.map(e => e.style.width)")
    assert any(w not in ("0%", "0.0%") for w in widths)
    # the same numbers as the API
    api = server.call("acme", "POST", "/v1/memories/search",
                      json={"query": "what is the dog called?", "user_id": "ana"})
    assert scores == [round(h["score"], 6) for h in api.json()["results"]]
    tokens = int(page.locator("#ctx-tokens").inner_text().split()[0])
    ctx = server.call("acme", "POST", "/v1/context", json={"query": "what is the dog called?", "user_id": "ana",
                                                        "budget_tokens": 300, "k": 10}).json()
    assert tokens == ctx["tokens"] <= 300
    assert page.locator("#context").inner_text().strip() == ctx["text"].strip()
    histogram = page.locator("svg.chart.small")
    assert histogram.locator("rect.bar-score").count() == 10
    assert "10 hits" in histogram.get_attribute("aria-label")


def test_a_memory_page_edit_shows_in_history_with_old_and_new_text(page, site):
    server, ids = site
    sign_in(page, server)
    fact = "Ana's sister Marta lives in Porto"
    page.goto(f"{server.url}/ui/#/memory/{ids[fact]}")
    page.locator("#memory-text").filter(has_text=fact).wait_for()
    source = page.locator("ul.sources li")  # provenance: the episode the seed names as its source
    assert source.count() == 1 and "My knee hurt after the long run" in source.inner_text()
    assert source.locator("a").get_attribute("href") == "#/memory/" + ids["My knee hurt after the long run on Sunday"]
    assert json.loads(page.locator("pre.json").inner_text()) == {"source": "seed", "confidence": 0.9}
    assert page.locator("#history tbody tr").count() == 1
    page.get_by_label("Text").fill("Ana's sister Marta moved to Coimbra")
    page.get_by_role("button", name="Save").click()
    page.locator("#memory-text").filter(has_text="Coimbra").wait_for()
    page.get_by_role("status").filter(has_text="Saved").wait_for()
    last = page.locator("#history tbody tr").last
    assert last.locator("th").inner_text() == "UPDATE"
    assert last.locator("td.old").inner_text() == fact
    assert last.locator("td.new").inner_text() == "Ana's sister Marta moved to Coimbra"
    stored = server.call("acme", "GET", f"/v1/memories/{ids[fact]}").json()
    assert stored["text"] == "Ana's sister Marta moved to Coimbra"


def test_delete_a_memory_after_confirming(page, site):
    server, ids = site
    sign_in(page, server)
    fact = "Ana is allergic to peanuts"
    page.goto(f"{server.url}/ui/#/memory/{ids[fact]}")
    page.get_by_role("button", name="Delete this memory").click()
    assert server.call("acme", "GET", f"/v1/memories/{ids[fact]}").status_code == 200  # nothing yet
    page.get_by_role("button", name="Yes, delete").click()
    page.get_by_role("heading", name="user ana", exact=True).wait_for()
    page.get_by_role("status").filter(has_text="Deleted").wait_for()
    assert server.call("acme", "GET", f"/v1/memories/{ids[fact]}").status_code == 404
    assert fact not in page.locator("main").inner_text()


def test_expire_a_memory_in_the_past_hides_it_from_the_owner_list_and_search(page, site):
    server, ids = site
    sign_in(page, server)
    fact = "Ana is training for the Lisbon half marathon in October"
    page.goto(f"{server.url}/ui/#/memory/{ids[fact]}")
    page.locator("#memory-text").filter(has_text=fact).wait_for()
    assert page.locator("#expiry").inner_text() == "never"
    page.get_by_label("Expire at").fill("2020-01-01T00:00")
    page.get_by_role("button", name="Expire", exact=True).click()
    page.get_by_role("status").filter(has_text="Expired").wait_for()
    page.locator("#expired-note").wait_for()
    assert "expired" in page.locator("#expiry").inner_text()
    stored = server.call("acme", "GET", f"/v1/memories/{ids[fact]}").json()
    assert stored["text"] == fact and stored["metadata"]["expires_at"].startswith("20")
    page.goto(server.url + "/ui/#/owner?user_id=ana&kind=fact")
    page.get_by_role("heading", name="user ana", exact=True).wait_for()
    page.locator("main").filter(has_text="Ana has a beagle called Pepper").wait_for()
    main = page.locator("main").inner_text()
    assert "Ana has a beagle called Pepper" in main and fact not in main
    page.goto(server.url + "/ui/#/search?q=Lisbon+half+marathon&user_id=ana&kind=fact")
    page.get_by_role("heading", name="Ranked hits").wait_for()
    hits = page.locator(".hit-text").all_inner_texts()
    assert not any("Lisbon" in t for t in hits), hits


def test_the_expire_field_is_labelled_and_keyboard_reachable(page, site):
    server, ids = site
    sign_in(page, server)
    page.goto(f"{server.url}/ui/#/memory/{ids['Ana has a beagle called Pepper']}")
    field = page.get_by_label("Expire at")
    field.wait_for()
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "expire-at":
            break
    else:
        raise AssertionError("Tab never reached the expiry field")
    for _ in range(8):  # a datetime-local field may take a Tab per part (day, month, year, hour, minute)
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Expire":
            break
    else:
        raise AssertionError("Tab never reached the Expire button")


def test_export_a_user_as_jsonl(page, site):
    server, _ = site
    sign_in(page, server)
    page.goto(server.url + "/ui/#/owner?user_id=ana")
    with page.expect_download() as info:
        page.get_by_role("button", name="Export as JSONL").click()
    lines = Path(info.value.path()).read_text(encoding="utf-8").splitlines()
    header, rows = json.loads(lines[0]), [json.loads(x) for x in lines[1:]]
    assert header["format"] == "memlm-export"
    assert rows and {r["user_id"] for r in rows} == {"ana"}
    assert not any("Bob" in r["text"] for r in rows)


def test_forget_a_user_needs_the_typed_confirmation(page, site):
    server, _ = site
    for text in ("Carl likes sailing", "Carl works nights"):
        server.call("acme", "POST", "/v1/memories", json={"text": text, "user_id": "carl"})
    sign_in(page, server)
    page.get_by_role("link", name="user carl").click()
    button = page.get_by_role("button", name="Forget everything")
    assert button.is_disabled()
    page.get_by_label("Type carl to confirm").fill("car")
    assert button.is_disabled()
    page.get_by_label("Type carl to confirm").fill("carl")
    assert button.is_enabled()
    button.click()
    page.get_by_role("status").filter(has_text="2 memories erased").wait_for()
    page.get_by_role("heading", name="Users and agents").wait_for()
    assert page.locator("#owners").filter(has_text="user carl").count() == 0
    assert server.call("acme", "GET", "/v1/memories", params={"user_id": "carl"}).json()["memories"] == []
    assert server.call("acme", "GET", "/v1/memories", params={"user_id": "ana"}).json()["memories"]  # ana stays


def test_tenant_b_never_sees_tenant_a_on_any_page(page, site):
    server, ids = site
    sign_in(page, server, tenant="globex")
    assert "Bob keeps bees" not in page.locator("main").inner_text()  # facts are on bob's page, not this one
    assert page.locator("#owners tbody tr").count() == 1 and "user bob" in page.locator("#owners").inner_text()
    fact = "Ana has a beagle called Pepper"
    urls = ["#/", "#/owner?user_id=ana", "#/owner?user_id=ana&text=Pepper",
            "#/session?user_id=ana&session_id=2023-06-03",
            f"#/memory/{ids[fact]}", f"#/memory/{ids['We adopted a beagle called Pepper last weekend']}",
            "#/search?q=what+is+the+dog+called&user_id=ana", "#/owner?user_id=bob"]
    for url in urls:
        page.goto(f"{server.url}/ui/{url}")
        page.locator("main h1").wait_for()
        page.wait_for_load_state("networkidle")
        text = page.locator("main").inner_text()
        leaked = [t for t in ANA_TEXTS if t in text]
        assert "Pepper" not in text and "peanuts" not in text and "marathon" not in text, (url, text[:300])
        assert not leaked, (url, leaked)
    assert "Bob keeps bees on his roof in Oslo" in text  # the last page: bob's own memories do show
    page.goto(f"{server.url}/ui/#/memory/{ids[fact]}")
    page.get_by_role("alert").filter(has_text="no memory").wait_for()


UNLABELLED = """() => [...document.querySelectorAll('main input, main select, main textarea')]
  .filter((el) => el.type !== 'hidden' && el.labels.length === 0 && !el.getAttribute('aria-label'))
  .map((el) => el.name || el.id)"""


def test_keyboard_only_and_every_field_labelled(page, site):
    server, ids = site
    page.goto(server.url + "/ui/")
    page.get_by_label("API key").wait_for()
    for _ in range(10):  # Tab from the top of the page to the key field
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "key":
            break
    assert page.evaluate("document.activeElement.id") == "key"
    page.keyboard.type(server.keys["acme"])
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Users and agents").wait_for()
    assert page.evaluate("document.activeElement.tagName") == "H1"  # focus moves to the new page's heading
    owner = page.get_by_role("link", name="user ana")
    owner.focus()
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="user ana", exact=True).wait_for()
    pages = ["#/owner?user_id=ana", "#/session?user_id=ana&session_id=2023-06-03",
             "#/search?q=dog&user_id=ana", f"#/memory/{ids['Ana has a beagle called Pepper']}"]
    for url in pages:
        page.goto(f"{server.url}/ui/{url}")
        page.locator("main h1").wait_for()
        page.wait_for_load_state("networkidle")
        assert page.evaluate(UNLABELLED) == [], url
        assert page.locator("main h1").count() == 1
        assert page.locator("svg:not([role='img'])").count() == 0  # every chart says what it shows


def test_search_shows_neighbouring_turns_when_asked(page, site):
    server, _ = site
    sign_in(page, server)
    page.goto(server.url + "/ui/#/search?q=beagle+Pepper&user_id=ana&kind=episode&neighbors=1")
    hits = page.locator("#hits > li")
    hits.first.wait_for()
    assert page.get_by_label("Neighbouring turns").input_value() == "1"
    api = server.call("acme", "POST", "/v1/memories/search", json={
        "query": "beagle Pepper", "user_id": "ana", "kinds": ["episode"], "neighbors": 1}).json()["results"]
    first = hits.first.locator("ul.neighbours li").all_inner_texts()
    assert first == [f"{c['role']}: {c['text']}" for c in api[0]["context"]] and first


def test_sign_out_only_shows_when_signed_in(page, site):
    server, _ = site
    page.goto(server.url + "/ui/")
    page.get_by_label("API key").wait_for()
    assert not page.get_by_role("button", name="Sign out").is_visible()
    sign_in(page, server)
    assert page.get_by_role("button", name="Sign out").is_visible()


def _add(server, tenant, text, user="dora"):
    r = server.call(tenant, "POST", "/v1/memories", json={"text": text, "user_id": user})
    assert r.status_code == 200, r.text
    return r.json()["events"][0]["id"]


def test_a_memory_page_and_the_owner_table_show_its_strength(page, site):
    server, _ = site
    recalled = _add(server, "acme", "Dora is allergic to shellfish")
    idle = _add(server, "acme", "Dora once rowed across a lake")
    for query in ("what is Dora allergic to", "shellfish allergy"):  # two recalls into a context
        r = server.call("acme", "POST", "/v1/context", json={"query": query, "user_id": "dora", "k": 1})
        assert [h["memory"]["id"] for h in r.json()["recalled"]] == [recalled]
    sign_in(page, server)
    page.goto(f"{server.url}/ui/#/memory/{recalled}")
    page.locator("#memory-text").filter(has_text="shellfish").wait_for()
    expected = server.call("acme", "GET", f"/v1/memories/{recalled}").json()
    assert page.locator("#strength strong").inner_text() == f"{expected['strength']:.2f}" == "3.00"
    assert page.locator("#recalls").inner_text() == "recalled 2 times into a context"
    assert page.locator("#last-recalled time").get_attribute("datetime") == expected["last_recalled_at"]
    page.goto(f"{server.url}/ui/#/memory/{idle}")
    page.locator("#memory-text").filter(has_text="rowed").wait_for()
    assert page.locator("#strength strong").inner_text() == "1.00"
    assert page.locator("#recalls").inner_text() == "never recalled into a context"
    page.goto(server.url + "/ui/#/owner?user_id=dora")
    table = page.locator("table.memories")
    table.locator("tbody tr").first.wait_for()
    assert table.locator("thead th").last.inner_text() == "strength"
    strengths = {row.locator("a").inner_text(): row.locator("td.strength").inner_text()
                 for row in table.locator("tbody tr").all()}
    assert strengths == {"Dora is allergic to shellfish": "3.00", "Dora once rowed across a lake": "1.00"}
    page.goto(server.url + "/ui/#/search?q=what+is+Dora+allergic+to&user_id=dora")
    page.locator("#hits li").first.wait_for()
    page.wait_for_load_state("networkidle")
    assert server.call("acme", "GET", f"/v1/memories/{recalled}").json()["recall_count"] == 2  # looking: not a recall


def test_tenant_b_sees_only_its_own_strength(page, site):
    server, _ = site
    theirs = _add(server, "acme", "Dora plays the harp", user="dora2")
    r = server.call("acme", "POST", "/v1/context", json={"query": "harp", "user_id": "dora2", "k": 1})
    assert [h["memory"]["id"] for h in r.json()["recalled"]] == [theirs]
    mine = _add(server, "globex", "Dora plays the harp", user="dora2")  # same owner and text, tenant B
    sign_in(page, server, tenant="globex")
    page.goto(f"{server.url}/ui/#/memory/{mine}")
    page.locator("#memory-text").filter(has_text="harp").wait_for()
    assert page.locator("#recalls").inner_text() == "never recalled into a context"
    assert page.locator("#strength strong").inner_text() == "1.00"
    page.goto(server.url + "/ui/#/owner?user_id=dora2")
    page.locator("table.memories tbody tr").first.wait_for()
    assert page.locator("table.memories td.strength").all_inner_texts() == ["1.00"]
    page.goto(f"{server.url}/ui/#/memory/{theirs}")
    page.get_by_role("alert").filter(has_text="no memory").wait_for()
