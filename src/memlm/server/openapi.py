"""Print the API's OpenAPI schema: `python -m memlm.server.openapi > docs/openapi.json`.

The schema does not depend on settings; tests compare docs/openapi.json with it.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def schema() -> dict[str, Any]:
    """The OpenAPI document of an app built with default settings (nothing is opened)."""
    from memlm.server.app import create_app
    from memlm.server.settings import ServerSettings

    return create_app(ServerSettings(warm_up=False)).openapi()


def render() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> None:
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
