"""Can this machine run the installed llama.cpp build?

llama.cpp compiled with GGML_NATIVE uses whatever the build machine had (AVX-512, AMX); on
another CPU, or in a VM whose OS does not enable that register state, the first decode dies
with SIGILL / SIGSEGV and takes the whole process down. memlm's Makefile builds a fixed
x86-64 baseline instead (docs/llm.md); this check refuses, with a clear error, a build that
uses features the running CPU or OS does not offer, before the model is loaded.
"""

from __future__ import annotations

import ctypes
import functools
import platform
import re
from pathlib import Path

from memlm.llm.base import LLMError

# llama.cpp's name for a compiled feature (llama_print_system_info) -> the /proc/cpuinfo flags it needs
CPU_FLAGS: dict[str, tuple[str, ...]] = {
    "SSE3": ("pni",), "SSSE3": ("ssse3",), "AVX": ("avx",), "AVX2": ("avx2",), "F16C": ("f16c",),
    "FMA": ("fma",), "BMI2": ("bmi2",), "AVX_VNNI": ("avx_vnni",), "AVX512": ("avx512f",),
    "AVX512_VBMI": ("avx512vbmi",), "AVX512_VNNI": ("avx512_vnni",), "AVX512_BF16": ("avx512_bf16",),
    "AMX_INT8": ("amx_int8", "amx_tile"), "AMX_BF16": ("amx_bf16", "amx_tile"),
}
ARCH_REQ_XCOMP_PERM = 0x1023  # arch_prctl: ask the kernel for permission to use an xstate feature
XFEATURE_XTILEDATA = 18  # AMX tile data
SYS_ARCH_PRCTL = 158  # x86-64 syscall number


def compiled_features(system_info: str) -> set[str]:
    """The CPU features a llama.cpp build uses, from its system-info line ("AVX2 = 1 | ...")."""
    return {name for name, on in re.findall(r"([A-Z0-9_]+) = (\d)", system_info) if on == "1"}


def missing_features(system_info: str, flags: set[str] | None, amx_ok: bool) -> list[str]:
    """The compiled features this machine cannot run (none where the CPU's flags are unknown)."""
    if flags is None:
        return []
    missing = []
    for name in sorted(compiled_features(system_info)):
        needs = CPU_FLAGS.get(name)
        if needs is None:
            continue
        if not all(f in flags for f in needs) or (name.startswith("AMX") and not amx_ok):
            missing.append(name)
    return missing


@functools.lru_cache(maxsize=1)
def cpu_flags() -> set[str] | None:
    """This CPU's feature flags as the kernel reports them (Linux, x86-64); None elsewhere."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return None
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    line = next((ln for ln in text.splitlines() if ln.startswith("flags")), None)
    return set(line.split(":", 1)[1].split()) if line else None


@functools.lru_cache(maxsize=1)
def amx_permitted() -> bool:
    """Whether the OS lets this process use AMX tiles (Linux asks for it per process; a VM that
    does not enable the AMX state refuses, and ldtilecfg then faults)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.syscall(SYS_ARCH_PRCTL, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0
    except (OSError, AttributeError):
        return False


def check_llama_build(system_info: str) -> None:
    """Raise LLMError if the llama.cpp build needs CPU features this machine lacks."""
    flags = cpu_flags()
    needs_amx = any(n.startswith("AMX") for n in compiled_features(system_info))
    missing = missing_features(system_info, flags, amx_permitted() if needs_amx else True)
    if missing:
        raise LLMError(
            f"the installed llama-cpp-python was compiled for CPU features this machine cannot use "
            f"({', '.join(missing)}); rebuild it for the portable x86-64 baseline: `make install` "
            f"in a memlm checkout, or see docs/llm.md for the CMAKE_ARGS")
