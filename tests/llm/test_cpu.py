"""The llama.cpp build check: a build for CPU features this machine lacks is refused clearly,
and the installed build is the portable baseline (make install), not a native one."""

from __future__ import annotations

import pytest

from memlm.llm import cpu
from memlm.llm.base import LLMError, Prompt
from memlm.llm.local import LocalConfig, LocalLLM

BASELINE = {"SSE3", "SSSE3", "AVX", "AVX2", "F16C", "FMA", "BMI2"}
HASWELL_FLAGS = {"pni", "ssse3", "avx", "avx2", "f16c", "fma", "bmi2"}


def test_compiled_features_are_read_from_the_system_info_line():
    info = "CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | AVX512 = 0 | AMX_INT8 = 1 | OPENMP = 1 | "
    assert cpu.compiled_features(info) == {"SSE3", "AVX", "AVX2", "AMX_INT8", "OPENMP"}


def test_features_the_cpu_lacks_or_the_os_forbids_are_reported():
    native = "CPU : AVX2 = 1 | FMA = 1 | AVX512 = 1 | AVX512_VNNI = 1 | AMX_INT8 = 1 | LLAMAFILE = 1 |"
    # an AVX2-only CPU: AVX-512 and AMX are missing; LLAMAFILE is not a CPU feature
    assert cpu.missing_features(native, HASWELL_FLAGS, amx_ok=True) == ["AMX_INT8", "AVX512", "AVX512_VNNI"]
    # a Sapphire Rapids VM whose OS does not enable AMX state: cpuid says AMX, the kernel refuses
    spr = HASWELL_FLAGS | {"avx512f", "avx512_vnni", "amx_int8", "amx_tile"}
    assert cpu.missing_features(native, spr, amx_ok=False) == ["AMX_INT8"]
    assert cpu.missing_features(native, spr, amx_ok=True) == []
    assert cpu.missing_features(native, None, amx_ok=False) == []  # unknown CPU (not Linux x86-64): not refused


def test_a_build_this_cpu_cannot_run_is_refused_before_the_model_loads(monkeypatch):
    monkeypatch.setattr(cpu, "cpu_flags", lambda: {"pni", "ssse3"})  # a CPU without AVX
    llm = LocalLLM(LocalConfig(n_ctx=256))
    with pytest.raises(LLMError, match=r"cannot use \(.*AVX2.*\).*make install"):
        llm.complete(Prompt.chat([{"role": "user", "content": "hi"}]), max_tokens=2)
    assert llm._llama is None  # nothing was loaded


def test_the_installed_llama_cpp_is_the_portable_baseline():
    llama_cpp = pytest.importorskip("llama_cpp")
    info = llama_cpp.llama_print_system_info().decode()
    used = cpu.compiled_features(info) & set(cpu.CPU_FLAGS)
    assert used <= BASELINE, (f"llama-cpp-python was built with {sorted(used - BASELINE)}: a native build that "
                              f"faults on other CPUs; `make clean install` rebuilds the portable one")
    cpu.check_llama_build(info)  # and this machine runs it
