"""The Makefile builds llama.cpp for the portable x86-64 baseline and never reuses a wheel built
with other flags (issue 12 §1): read from what `make` itself would run, not from the text."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OFF = ["GGML_NATIVE", "GGML_AVX512", "GGML_AVX512_VBMI", "GGML_AVX512_VNNI", "GGML_AVX512_BF16",
       "GGML_AMX_TILE", "GGML_AMX_INT8", "GGML_AMX_BF16", "GGML_CPU_ALL_VARIANTS"]
ON = ["GGML_AVX", "GGML_AVX2", "GGML_FMA", "GGML_F16C"]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="GNU make is not installed")


def make(*args: str, home: Path, path: str = "/usr/bin:/bin") -> str:
    env = {"PATH": path, "HOME": str(home)}
    return subprocess.run(["make", "-s", "--no-print-directory", "--eval", "print-%: ; @echo $($*)", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=60).stdout


def flags(cmake_args: str) -> dict[str, str]:
    return dict(re.findall(r"-D(\w+)=(\w+)", cmake_args))


def test_the_build_is_the_baseline_never_native(tmp_path):
    recipe = make("-n", "-B", "install", home=tmp_path).replace("\\\n", " ")  # what `make install` runs
    [build] = [line for line in recipe.splitlines() if "pip wheel" in line]
    cmake = flags(re.search(r'CMAKE_ARGS="([^"]*)"', build).group(1))
    assert {f: cmake.get(f) for f in OFF} == dict.fromkeys(OFF, "OFF")
    assert {f: cmake.get(f) for f in ON} == dict.fromkeys(ON, "ON")
    assert "--no-cache-dir" in build and "--no-binary llama-cpp-python" in build  # pip's cache never answers
    [install] = [line for line in recipe.splitlines() if "llama_cpp_python" in line and "pip install" in line]
    assert "--force-reinstall" in install and str(tmp_path / ".cache" / "memlm" / "wheels") in install


def test_the_wheel_cache_key_changes_with_every_flag_the_version_and_the_arch(tmp_path):
    default = make("print-WHEELS", home=tmp_path).strip()
    args = make("print-LLAMA_CMAKE_ARGS", home=tmp_path).strip()
    assert default.startswith(str(tmp_path / ".cache" / "memlm" / "wheels" / "llama-cpp-python-"))
    others = {make("print-WHEELS", f"LLAMA_CMAKE_ARGS={variant}", home=tmp_path).strip()
              for variant in (args.replace("-DGGML_NATIVE=OFF", "-DGGML_NATIVE=ON"),
                              args.replace("-DGGML_AMX_INT8=OFF", "-DGGML_AMX_INT8=ON"),
                              args + " -DGGML_AVX512=ON", "")}
    others.add(make("print-WHEELS", "LLAMA_VERSION=0.0.1", home=tmp_path).strip())
    assert default not in others and len(others) == 5  # a wheel built any other way is another folder
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "uname").write_text("#!/bin/sh\necho aarch64\n")
    (fake / "uname").chmod(0o755)
    other_arch = make("print-WHEELS", home=tmp_path, path=f"{fake}:/usr/bin:/bin").strip()
    assert other_arch != default and other_arch not in others


def test_pip_install_of_the_package_keeps_the_wheel_the_makefile_built(tmp_path):
    """`pip install -e '.[test]'` after the wheel: the pinned version must be the wheel's, or pip
    would fetch and build another llama-cpp-python natively (through its own cache)."""
    version = make("print-LLAMA_VERSION", home=tmp_path).strip()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = [d for extra in project["optional-dependencies"].values() for d in extra if d.startswith("llama-cpp-python")]
    assert pins and set(pins) == {f"llama-cpp-python=={version}"}


def test_the_hand_build_in_docs_uses_the_same_baseline():
    text = (ROOT / "docs" / "llm.md").read_text(encoding="utf-8")
    block = re.search(r'CMAKE_ARGS="([^"]*)"\s*\\?\s*pip install ([^\n]*)', text.replace("\\\n", " "))
    assert block, "docs/llm.md lost its by-hand build command"
    cmake = flags(block.group(1))
    assert cmake.get("GGML_NATIVE") == "OFF" and all(cmake.get(f) == "ON" for f in ON)
    assert all(cmake.get(f) == "OFF" for f in ("GGML_AVX512", "GGML_AMX_TILE", "GGML_AMX_INT8", "GGML_AMX_BF16"))
    assert "--no-cache-dir" in block.group(2) and "--force-reinstall" in block.group(2)
