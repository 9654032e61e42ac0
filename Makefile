# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# llama.cpp (the optional local LLM) is compiled for a fixed x86-64 baseline, never for the
# build machine (GGML_NATIVE would pick AVX-512 / AMX, which fault on CPUs or VMs without them):
# AVX2 + FMA + F16C + BMI2 (x86-64-v3, every x86-64 CPU since 2013-2015). The wheel is built
# with pip's cache off and kept in our own cache under a key that names the version and these
# flags, so a wheel built with other flags (or on another machine natively) is never reused.
LLAMA_VERSION := 0.3.36
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_CPU_ALL_VARIANTS=OFF -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_BMI2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF -DGGML_OPENMP=ON
LLAMA_KEY := $(shell printf '%s' "$(LLAMA_VERSION) $(LLAMA_CMAKE_ARGS) $$(uname -m)" | sha256sum | cut -c1-16)
WHEELS ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/memlm/wheels/llama-cpp-python-$(LLAMA_VERSION)-$(LLAMA_KEY)

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q torch==2.13.0
	@if ! ls $(WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl >/dev/null 2>&1; then \
		echo "building llama-cpp-python $(LLAMA_VERSION) for the portable x86-64 baseline (a few minutes, once)"; \
		rm -rf $(WHEELS).tmp && mkdir -p $(WHEELS).tmp && \
		CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" FORCE_CMAKE=1 $(PY) -m pip wheel -q --no-cache-dir --no-deps \
			--no-binary llama-cpp-python -w $(WHEELS).tmp llama-cpp-python==$(LLAMA_VERSION) && \
		rm -rf $(WHEELS) && mv $(WHEELS).tmp $(WHEELS); \
	fi
	$(PY) -m pip install -q --no-deps --force-reinstall $(WHEELS)/llama_cpp_python-$(LLAMA_VERSION)-*.whl
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/memlm demo

lint: $(STAMP)
	$(PY) tools/lint.py

test: $(STAMP) lint
	$(PY) -m pytest -q

bench: $(STAMP)
	$(VENV)/bin/memlm bench locomo --plain

clean:
	rm -rf $(VENV) build *.egg-info
