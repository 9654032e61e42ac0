"""The local backend with the real packaged model (Gemma 3 270M, a small base model)."""

from __future__ import annotations

import pytest

from memlm import Memory
from memlm.llm import get_llm
from memlm.llm.base import LLMError, Prompt
from memlm.llm.local import LocalConfig, LocalLLM, model_path

pytestmark = pytest.mark.slow

MEMORY_QA = Prompt.chat([
    {"role": "system", "content": "A conversation with an assistant that remembers.\n\nMemory:\n"
                                  "- [2024-05-01] user: My dog is called Rex.\n- [2024-05-01] user: I live in Lisbon."},
    {"role": "user", "content": "What is my dog's name?"},
])


def test_the_packaged_model_answers_from_memory_and_streams_the_same_text(local_llm):
    answer = local_llm.complete(MEMORY_QA, max_tokens=12)
    assert "Rex" in answer
    assert "".join(local_llm.stream(MEMORY_QA, max_tokens=12)) == answer  # temperature 0: deterministic
    assert local_llm.name == "local:gemma-3-270m-q4_k_m.gguf"


def test_base_model_prompts_are_transcripts_that_stop_at_the_next_turn():
    text = MEMORY_QA.as_text()
    assert text.endswith("User: What is my dog's name?\nAssistant:") and "Memory:" in text
    assert MEMORY_QA.stops() == ["\nUser:", "\nAssistant:"]
    with pytest.raises(ValueError, match="role"):
        Prompt.chat([{"role": "wizard", "content": "hi"}])


def test_a_missing_model_file_is_a_clear_error(tmp_path):
    with pytest.raises(LLMError, match="no GGUF model"):
        model_path(str(tmp_path / "nope.gguf"))
    with pytest.raises(LLMError, match="no GGUF model"):
        LocalLLM(LocalConfig(model_path=str(tmp_path / "nope.gguf"))).complete(MEMORY_QA)


def test_get_llm_specs(monkeypatch):
    monkeypatch.delenv("MEMLM_LLM", raising=False)
    assert get_llm() is None and get_llm("none") is None
    assert get_llm("local").name.startswith("local:")
    assert get_llm("openai:my-model").name == "openai:my-model"
    with pytest.raises(ValueError, match="unknown LLM"):
        get_llm("gpt5")


def test_extraction_with_the_real_model_never_loses_or_corrupts_memory(tmp_path, hashing, local_llm):
    talk = [{"role": "Ana", "content": "Hi! I just moved to Lisbon and I adopted a beagle called Rex."},
            {"role": "assistant", "content": "Congratulations on the move and on Rex!"},
            {"role": "Ana", "content": "Thanks. I work as a nurse, so walks are early in the morning."}]
    with Memory(tmp_path / "real.db", encoder=hashing, llm=local_llm) as m:
        events = m.add(talk, user_id="ana", session_id="s1", occurred_at="2024-05-01", extract=True)
        episodes = m.list(user_id="ana", kinds=["episode"])
        assert [e.text for e in episodes] == [t["content"] for t in talk]  # every turn stored, whatever the model did
        for e in events:
            if e.kind == "fact" and e.event == "ADD":
                fact = m.get(e.id)
                assert fact.source_ids and set(fact.source_ids) <= {r.id for r in episodes}
                assert e.text.strip() and len(e.text) <= 300
        summary = m.consolidate(user_id="ana", session_id="s1")
        assert m.get(summary.id).kind == "summary" and summary.text.strip()
        assert m.get(summary.id).metadata["method"] in ("llm", "extractive")
