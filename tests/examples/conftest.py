"""The runnable applications in examples/ are scripts, not a package: load them by path."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load_example(name: str):
    """Import examples/<name>.py as module `memlm_example_<name>` (registered, so dataclasses work)."""
    module_name = f"memlm_example_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, EXAMPLES / f"{name}.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load examples/{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def support_assistant():
    return load_example("support_assistant")


@pytest.fixture(scope="session")
def preferences():
    return load_example("preferences")


@pytest.fixture(scope="session")
def sentiment_monitor():
    return load_example("sentiment_monitor")


@pytest.fixture(scope="session")
def langgraph_agent():
    return load_example("langgraph_agent")
