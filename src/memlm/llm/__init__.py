"""LLM backends: `openai` (any OpenAI-compatible endpoint) and `local` (GGUF via llama.cpp)."""

from __future__ import annotations

from memlm.llm.base import LLM, LLMError, Prompt


def get_llm(spec: str | None = None) -> LLM | None:
    """An LLM from a spec, else from $MEMLM_LLM; None when neither names one.

    Specs: "local" (the packaged Gemma 3 270M GGUF), "local:/path/model.gguf",
    "openai" (model from $MEMLM_LLM_MODEL), "openai:MODEL"; "none" for no LLM.
    The openai backend reads $MEMLM_LLM_BASE_URL (or $OPENAI_BASE_URL) and
    $MEMLM_LLM_API_KEY (or $OPENAI_API_KEY).
    """
    if spec is None:
        from memlm.settings import from_env

        spec = from_env("llm")
    if spec is None or spec.strip().lower() in ("", "none", "off"):
        return None
    kind, _, arg = spec.strip().partition(":")
    if kind == "local":
        from memlm.llm.local import LocalConfig, LocalLLM

        return LocalLLM(LocalConfig(model_path=arg or None))
    if kind == "openai":
        from memlm.llm.openai import OpenAIConfig, OpenAILLM

        return OpenAILLM(OpenAIConfig.from_env(model=arg or None))
    raise ValueError(f"unknown LLM spec {spec!r}; use local, local:PATH.gguf, openai or openai:MODEL")


__all__ = ["LLM", "LLMError", "Prompt", "get_llm"]
