"""Validation of what callers store besides texts: metadata and scope values, once, for every
entry point (the Python API, HTTP, the CLI, MCP and import all reach these checks).

A stored value must survive the trip to and from every backend and every output (JSON in
SQLite and PostgreSQL, HTTP responses, exports): so strings must be valid Unicode (no lone
surrogates) without NUL characters, numbers must be finite, keys must be strings, and a
value is bounded in depth and size. Anything else is a ValueError that says what and where.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_ID = 256  # characters in a user / agent / session id or a speaker name
MAX_DEPTH = 32  # nesting of metadata objects and lists
MAX_METADATA_CHARS = 65_536  # metadata of one memory, as compact JSON


def check_string(value: Any, what: str, *, max_chars: int | None = None) -> str:
    """A str that is valid Unicode, has no NUL and is at most max_chars long."""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string, got {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{what} is not valid Unicode (lone surrogate at position {exc.start})") from None
    if "\x00" in value:
        raise ValueError(f"{what} contains a NUL character")
    if max_chars is not None and len(value) > max_chars:
        raise ValueError(f"{what} is {len(value)} characters; the limit is {max_chars}")
    return value


def check_id(value: Any, what: str) -> str:
    """A scope id or speaker: a non-empty (not only whitespace) string of at most MAX_ID characters."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    return check_string(value, what, max_chars=MAX_ID)


def check_json(value: Any, what: str = "metadata", *, max_depth: int = MAX_DEPTH,
               max_chars: int | None = MAX_METADATA_CHARS) -> Any:
    """A JSON value (dict, list, str, finite number, bool, None) safe to store and return;
    max_chars bounds its compact JSON (None: no bound).

    Walked without recursion, so a value nested thousands deep is refused, not a RecursionError."""
    stack: list[tuple[Any, str, int]] = [(value, what, 0)]
    while stack:
        item, where, depth = stack.pop()
        if depth > max_depth:
            raise ValueError(f"{what} is nested deeper than {max_depth} levels (at {where})")
        if isinstance(item, str):
            check_string(item, where)
        elif isinstance(item, bool) or item is None or isinstance(item, int):
            continue
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise ValueError(f"{where} is {item}: NaN and infinity are not JSON numbers")
        elif isinstance(item, dict):
            for key, sub in item.items():
                if not isinstance(key, str):
                    raise ValueError(f"{where} has a key that is not a string: {key!r}")
                check_string(key, f"a key of {where}")
                stack.append((sub, f"{where}[{key!r}]", depth + 1))
        elif isinstance(item, (list, tuple)):
            stack.extend((sub, f"{where}[{i}]", depth + 1) for i, sub in enumerate(item))
        else:
            raise ValueError(f"{where} is a {type(item).__name__}, not a JSON value")
    if max_chars is None:
        return value
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
    if size > max_chars:
        raise ValueError(f"{what} is {size} characters as JSON; the limit is {max_chars}")
    return value
