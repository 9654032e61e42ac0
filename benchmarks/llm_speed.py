"""Tokens per second of the local LLM (packaged Gemma 3 270M Q4_K_M through llama.cpp).

Prints prompt processing (prefill) and generation rates, best of --repeat runs each, and the
CPU features the llama.cpp build uses, so a figure always says which build produced it.

    .venv/bin/python benchmarks/llm_speed.py [--threads N] [--repeat 5] [--prompt-tokens 512] [--gen-tokens 128]

Shared CPUs make single timings noisy: each rate is the fastest of the repeats, and
--cpu-time also reports the process CPU seconds per generated token (contention-proof).
"""

from __future__ import annotations

import argparse
import json
import time

from memlm.llm.cpu import compiled_features
from memlm.llm.local import model_path

TEXT = ("The assistant remembers what the user said in earlier sessions: where they live, what they like, "
        "the names of their pets and friends, and the plans they made. ")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=None, help="llama.cpp threads (default: all cores)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--prompt-tokens", type=int, default=512)
    ap.add_argument("--gen-tokens", type=int, default=128)
    args = ap.parse_args()

    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode()
    llm = llama_cpp.Llama(model_path=str(model_path()), n_ctx=2048, n_threads=args.threads, verbose=False)
    base = llm.tokenize(TEXT.encode(), add_bos=False)
    prompt = (base * (args.prompt_tokens // len(base) + 1))[: args.prompt_tokens]
    prefill, gen, cpu_per_token = [], [], []
    for _ in range(args.repeat):
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(prompt)
        prefill.append(len(prompt) / (time.perf_counter() - t0))
        llm.reset()
        llm.eval(prompt[:32])
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(args.gen_tokens):  # greedy decode, one token at a time
            token = llm.sample(temp=0.0)
            llm.eval([token])
        gen.append(args.gen_tokens / (time.perf_counter() - t0))
        cpu_per_token.append((time.process_time() - c0) / args.gen_tokens * 1000)
    print(json.dumps({
        "model": model_path().name, "threads": args.threads or "all", "build": sorted(compiled_features(info)),
        "prompt_tokens": len(prompt), "prefill_tokens_per_s": round(max(prefill), 1),
        "gen_tokens": args.gen_tokens, "generate_tokens_per_s": round(max(gen), 1),
        "cpu_ms_per_generated_token": round(min(cpu_per_token), 2), "runs": args.repeat,
    }, indent=2))


if __name__ == "__main__":
    main()
