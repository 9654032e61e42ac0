"""The web inspector at /ui: one static page and its script, style and icon, all in the package
(nothing from a CDN, works offline). The page signs in with an API key that it keeps in the
browser's sessionStorage and sends as the bearer token to the /v1 API with fetch, so the key
is never in a URL or a cookie (no cookie: no CSRF) and every read and write is the API's own,
with its tenant isolation. The files are sent with a strict Content-Security-Policy: no inline
script or style, nothing from another origin.
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from memlm.server.errors import ApiError

router = APIRouter(include_in_schema=False)

FILES = {  # name -> media type; nothing else is served
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "charts.js": "text/javascript; charset=utf-8",
    "pages.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}


def asset(name: str) -> bytes:
    """One of the packaged files (memlm/server/ui/NAME)."""
    return resources.files("memlm.server").joinpath("ui", name).read_bytes()


@router.get("/ui")
async def ui_root() -> Response:
    return RedirectResponse("/ui/", status_code=307)


@router.get("/ui/")
async def ui_index() -> Response:
    return Response(asset("index.html"), media_type=FILES["index.html"], headers=HEADERS)


@router.get("/ui/{name}")
async def ui_file(name: str) -> Response:
    if name not in FILES:
        raise ApiError(404, f"no file {name!r} in the inspector")
    return Response(asset(name), media_type=FILES[name], headers=HEADERS)
