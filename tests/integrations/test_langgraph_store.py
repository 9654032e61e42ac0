"""MemlmStore against LangGraph's BaseStore contract (its documented behaviour: langgraph
ships no conformance suite), every method sync and async, over Memory, Client and AsyncClient."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from langgraph.store.base import GetOp, InvalidNamespaceError, Item, ListNamespacesOp, PutOp, SearchItem, SearchOp

from memlm import AsyncClient, Client, Memory
from memlm.integrations.langgraph import MemlmStore


class Both:
    """The store's methods called the sync way, or the async way (aget, asearch, ...) on a loop."""

    def __init__(self, store: MemlmStore, mode: str) -> None:
        self.store, self.mode = store, mode
        self.loop = asyncio.new_event_loop() if mode == "async" else None

    def __getattr__(self, name: str):
        if self.mode == "sync":
            return getattr(self.store, name)
        method = getattr(self.store, "a" + name)
        return lambda *a, **kw: self.loop.run_until_complete(method(*a, **kw))

    def close(self) -> None:
        if self.loop is not None:
            if isinstance(self.store.memory, AsyncClient):
                self.loop.run_until_complete(self.store.memory.aclose())
            self.loop.close()


def _pairs():
    return [(b, m) for b in ("memory", "client", "async") for m in ("sync", "async") if (b, m) != ("async", "sync")]


@pytest.fixture(params=_pairs(), ids=lambda p: "-".join(p))
def store(request, tmp_path):
    kind, mode = request.param
    if kind == "memory":
        backend = Memory(tmp_path / "local.db", encoder="hashing")
    else:
        base, key = request.getfixturevalue("served")
        backend = Client(base, api_key=key) if kind == "client" else AsyncClient(base, api_key=key)
    both = Both(MemlmStore(backend), mode)
    yield both
    both.close()
    if not isinstance(backend, AsyncClient):
        backend.close()


def test_an_async_client_serves_the_async_methods_only(served):
    store = MemlmStore(AsyncClient(*served[:1], api_key=served[1]))
    with pytest.raises(TypeError, match="async methods"):
        store.get(("u",), "k")


@pytest.fixture
def user():
    return f"u{uuid.uuid4().hex[:8]}"  # the server's file is shared by the session


def test_put_get_overwrite_delete(store, user):
    ns = (user, "prefs")
    assert store.get(ns, "food") is None
    store.put(ns, "food", {"text": "Ana is vegetarian", "since": 2019})
    item = store.get(ns, "food")
    assert isinstance(item, Item) and (item.namespace, item.key) == (ns, "food")
    assert item.value == {"text": "Ana is vegetarian", "since": 2019}
    assert isinstance(item.created_at, datetime) and item.created_at.tzinfo is not None
    store.put(ns, "food", {"text": "Ana is vegan now", "since": 2024})
    again = store.get(ns, "food")
    assert again.value["text"] == "Ana is vegan now" and again.created_at == item.created_at
    assert again.updated_at > item.updated_at
    assert store.get((user, "other"), "food") is None  # the namespace is part of the address
    store.delete(ns, "food")
    assert store.get(ns, "food") is None
    store.delete(ns, "food")  # deleting what is not there is no error


def test_near_identical_values_under_two_keys_stay_two_items(store, user):
    ns = (user, "notes")
    store.put(ns, "a", {"text": "the spare key is under the blue pot"})
    store.put(ns, "b", {"text": "the spare key is under the blue pot"})
    assert store.get(ns, "a").value == store.get(ns, "b").value
    memory = store.store.memory
    if not isinstance(memory, AsyncClient):  # two memories, whether the gate added both or b was told apart by speaker
        assert len(memory.list(user_id=user)) == 2
    store.delete(ns, "a")
    assert store.get(ns, "a") is None and store.get(ns, "b") is not None


def test_a_long_value_is_one_item(store, user):
    ns = (user, "docs")
    long_text = " ".join(f"sentence {i} tells of rivers and bridges in town {i}." for i in range(80))
    store.put(ns, "essay", {"text": long_text})
    assert store.get(ns, "essay").value["text"] == long_text
    if not isinstance(store.store.memory, AsyncClient):
        assert len(store.store.memory.list(user_id=user)) > 1  # memlm chunked it; the store shows one item
    hits = store.search((user,), query="rivers and bridges")
    assert [h.key for h in hits] == ["essay"]
    store.delete(ns, "essay")
    assert store.search((user,)) == []


def test_search_by_query_uses_recall(store, user):
    store.put((user, "facts"), "pet", {"text": "Ana has a grey cat called Miso"})
    store.put((user, "facts"), "job", {"text": "Ana works as a night-shift nurse"})
    store.put((user, "trips"), "2023", {"text": "Ana hiked in Patagonia"})
    store.put((user, "facts"), "secret", {"text": "Ana's cat is afraid of thunder"}, index=False)
    hits = store.search((user,), query="what is the name of her cat?")
    assert isinstance(hits[0], SearchItem) and hits[0].key == "pet" and 0 <= hits[0].score <= 1
    assert "secret" not in {h.key for h in hits}  # index=False: not found by query
    assert [h.namespace for h in store.search((user, "trips"), query="hiking")] == [(user, "trips")]
    assert len(store.search((user,), query="Ana", limit=2)) == 2
    assert store.search((f"x{user}",), query="cat") == []


def test_search_without_query_filters_and_pages(store, user):
    for i, (kind, stars) in enumerate([("book", 5), ("film", 3), ("book", 2), ("film", 4)]):
        store.put((user, "reviews"), f"r{i}", {"text": f"review number {i}", "kind": kind, "stars": stars,
                                               "meta": {"lang": "en" if i % 2 else "fr"}})
    everything = store.search((user,))
    assert [h.key for h in everything] == ["r3", "r2", "r1", "r0"] and all(h.score is None for h in everything)
    assert {h.key for h in store.search((user,), filter={"kind": "book"})} == {"r0", "r2"}
    assert {h.key for h in store.search((user,), filter={"stars": {"$gte": 4}})} == {"r0", "r3"}
    assert {h.key for h in store.search((user,), filter={"stars": {"$gt": 2, "$lt": 5}})} == {"r1", "r3"}
    assert {h.key for h in store.search((user,), filter={"kind": {"$ne": "film"}})} == {"r0", "r2"}
    assert {h.key for h in store.search((user,), filter={"meta": {"lang": "fr"}})} == {"r0", "r2"}
    assert [h.key for h in store.search((user,), limit=2, offset=1)] == ["r2", "r1"]
    assert {h.key for h in store.search((user,), query="review", filter={"kind": "film"})} == {"r1", "r3"}


def test_list_namespaces(store, user):
    for ns in [(user, "a", "x"), (user, "a", "y"), (user, "b", "x"), (user, "c")]:
        store.put(ns, "k", {"text": f"item in {'/'.join(ns)}"})
    assert store.list_namespaces(prefix=(user,)) == [(user, "a", "x"), (user, "a", "y"), (user, "b", "x"), (user, "c")]
    assert store.list_namespaces(prefix=(user, "a")) == [(user, "a", "x"), (user, "a", "y")]
    assert store.list_namespaces(prefix=(user,), suffix=("x",)) == [(user, "a", "x"), (user, "b", "x")]
    assert store.list_namespaces(prefix=(user, "*", "x")) == [(user, "a", "x"), (user, "b", "x")]
    assert store.list_namespaces(prefix=(user,), max_depth=2) == [(user, "a"), (user, "b"), (user, "c")]
    assert store.list_namespaces(prefix=(user,), limit=2, offset=1) == [(user, "a", "y"), (user, "b", "x")]
    assert (user, "c") in store.list_namespaces()  # no prefix: every namespace


def test_batch_runs_ops_in_order(store, user):
    ns = (user, "batch")
    results = store.batch([PutOp(ns, "a", {"text": "alpha centauri is a star system"}),
                           GetOp(ns, "a"), SearchOp((user,), query="star system"),
                           ListNamespacesOp(), PutOp(ns, "a", None), GetOp(ns, "a")])
    assert results[0] is None and results[1].value == {"text": "alpha centauri is a star system"}
    assert [h.key for h in results[2]] == ["a"] and ns in results[3]
    assert results[4] is None and results[5] is None


def _expiry(backend, user, key):
    """The memlm expiry of the item's memory."""
    [record] = [r for r in backend.list(user_id=user) if r.metadata["langgraph"]["key"] == key]
    return datetime.fromisoformat(record.metadata["expires_at"])


def test_ttl_is_memlms_expiry_and_reads_refresh_it(backend, user):
    store = MemlmStore(backend)
    assert MemlmStore.supports_ttl is True
    store.put((user,), "brief", {"text": "the door code is 4421"}, ttl=0.002)  # minutes: gone in 0.12 s
    store.put((user,), "long", {"text": "Ana's favourite colour is green"}, ttl=60)
    store.put((user,), "forever", {"text": "Ana was born in Porto"})
    time.sleep(0.5)
    assert store.get((user,), "brief") is None
    assert {h.key for h in store.search((user,), query="door code colour born")} == {"long", "forever"}
    assert {h.key for h in store.search((user,))} == {"long", "forever"}
    first = _expiry(backend, user, "long")
    assert timedelta(minutes=59) < first - datetime.now(UTC) <= timedelta(minutes=60)
    assert store.get((user,), "long", refresh_ttl=False).value == {"text": "Ana's favourite colour is green"}
    assert _expiry(backend, user, "long") == first  # not refreshed
    store.get((user,), "long")  # LangGraph's default: refresh on read
    second = _expiry(backend, user, "long")
    assert second > first
    store.search((user,), query="favourite colour")
    assert _expiry(backend, user, "long") > second
    [forever] = [r for r in backend.list(user_id=user) if r.metadata["langgraph"]["key"] == "forever"]
    assert "expires_at" not in forever.metadata  # no ttl: no expiry
    with pytest.raises(ValueError, match="ttl"):
        store.batch([PutOp((user,), "k", {"text": "x"}, ttl=-1.0)])


def test_namespaces_are_checked(store, user):
    store.put((user,), "k", {"text": "kept"}, ttl=None)
    assert store.get((user,), "k").value == {"text": "kept"}
    for bad in [(), ("langgraph", "x"), (user, "a.b"), (user, "")]:
        with pytest.raises(InvalidNamespaceError):
            store.put(bad, "k", {"text": "x"})


def test_layout_maps_labels_to_memlm_scope(backend, user):
    store = MemlmStore(backend, layout=(None, "user_id", "session_id"))
    store.put(("memories", user, "s1"), "m1", {"text": "asked about flights to Oslo"})
    store.put(("memories", user), "m2", {"text": "prefers window seats"})
    records = {r.text: r for r in backend.list(user_id=user)}
    assert records["asked about flights to Oslo"].session_id == "s1"
    assert records["prefers window seats"].session_id is None
    with pytest.raises(InvalidNamespaceError, match="owner"):
        store.put(("memories",), "m3", {"text": "no user here"})
    assert store.search(("memories", user), query="flights Oslo")[0].key == "m1"
    with pytest.raises(ValueError, match="owner"):
        MemlmStore(backend, layout=("session_id",))
    with pytest.raises(ValueError):
        MemlmStore(backend, layout=("user_id", "user_id"))


def test_the_default_text_is_the_value_s_text(backend, user):
    store = MemlmStore(backend)
    store.put((user,), "one", {"content": "Ana is vegetarian", "n": 1})
    store.put((user,), "two", {"title": "Trip", "note": "Oslo in May"})
    store.put((user,), "none", {"n": 3})
    assert {r.text for r in backend.list(user_id=user)} == {"Ana is vegetarian", "title: Trip\nnote: Oslo in May",
                                                           '{"n": 3}'}


def test_index_fields_choose_what_recall_sees(backend, user):
    store = MemlmStore(backend, index_fields=["summary"])
    store.put((user,), "doc", {"summary": "tax return deadline in April", "body": "zebra zebra zebra"})
    assert backend.list(user_id=user)[0].text == "tax return deadline in April"
    assert store.search((user,), query="tax deadline")[0].key == "doc"


def test_owners_are_isolated_and_search_spans_them_without_a_prefix(backend):
    a, b = f"a{uuid.uuid4().hex[:6]}", f"b{uuid.uuid4().hex[:6]}"
    store = MemlmStore(backend)
    store.put((a,), "k", {"text": "likes sailing on the lake"})
    store.put((b,), "k", {"text": "likes sailing on the sea"})
    assert [h.namespace for h in store.search((a,), query="sailing")] == [(a,)]
    if isinstance(backend, Memory):  # a fresh file: everything in it is ours
        assert {h.namespace for h in store.search((), query="sailing")} == {(a,), (b,)}


def test_same_answers_as_langgraph_s_in_memory_store(tmp_path):
    """A seeded random run of puts, deletes, gets, filtered searches and namespace listings gives
    what LangGraph's reference InMemoryStore gives (search order aside: memlm's is most recently
    updated first, compared as sets)."""
    import random

    from langgraph.store.memory import InMemoryStore

    rng = random.Random(7)
    ref = InMemoryStore()
    words = ["apple", "river", "engine", "violin", "garden", "rocket", "lantern", "meadow"]
    with Memory(tmp_path / "diff.db", encoder="hashing") as memory:
        ours = MemlmStore(memory)
        spaces = [("ana", "a"), ("ana", "a", "x"), ("ana", "b"), ("bob", "a"), ("bob",)]
        for step in range(120):
            ns, key = rng.choice(spaces), f"k{rng.randrange(6)}"
            roll = rng.random()
            if roll < 0.45:
                value = {"text": f"{rng.choice(words)} {rng.choice(words)} {step}", "n": rng.randrange(5),
                         "tag": rng.choice(["x", "y"])}
                ref.put(ns, key, value)
                ours.put(ns, key, value)
            elif roll < 0.6:
                ref.delete(ns, key)
                ours.delete(ns, key)
            elif roll < 0.8:
                a, b = ref.get(ns, key), ours.get(ns, key)
                assert (a and (a.namespace, a.key, a.value)) == (b and (b.namespace, b.key, b.value)), step
            elif roll < 0.95:
                prefix = rng.choice([("ana",), ("bob",), ("ana", "a"), ()])
                flt = rng.choice([None, {"tag": "x"}, {"n": {"$gte": 2}}, {"n": {"$ne": 1}, "tag": "y"}])
                a = {(i.namespace, i.key, str(i.value)) for i in ref.search(prefix, filter=flt, limit=100)}
                b = {(i.namespace, i.key, str(i.value)) for i in ours.search(prefix, filter=flt, limit=100)}
                assert a == b, step
            else:
                kw = rng.choice([{}, {"prefix": ("ana",)}, {"suffix": ("a",)}, {"max_depth": 1}])
                assert ref.list_namespaces(**kw) == ours.list_namespaces(**kw), (step, kw)
