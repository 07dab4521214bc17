"""The server's own static files (query page, vendored YASGUI and Swagger UI) and the API page that uses them.

Input: the files under ``server/static/`` (shipped in the wheel). Output: ``/static/...`` answers, read-only
(Starlette's ``StaticFiles``: GET and HEAD only, no path outside the folder, the content type from the
file's name) with a day's ``Cache-Control`` and the ``ETag``/``Last-Modified`` validators; and ``/api``,
the Swagger UI page of the OpenAPI description, which loads its script, style and icon from here, so the
documentation works with no network (FastAPI's default page takes them from a CDN).
"""

from __future__ import annotations

import html
from pathlib import Path

from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

__all__ = ["STATIC", "Assets", "api_page", "CACHE_CONTROL", "SWAGGER_UI"]

STATIC = Path(__file__).parent / "static"
# The files change only with a release (like the JSON-LD context): cached for a day, then revalidated.
CACHE_CONTROL = "public, max-age=86400"
SWAGGER_UI = "/static/vendor/swagger-ui/"


class Assets(StaticFiles):
    """``StaticFiles`` over ``server/static/`` whose answers say how long to keep them and not to sniff them."""

    def __init__(self, directory: Path = STATIC) -> None:
        super().__init__(directory=directory)

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            response.headers["Cache-Control"] = CACHE_CONTROL
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def api_page(openapi_url: str, title: str) -> HTMLResponse:
    """Swagger UI for ``openapi_url`` with every asset from ``/static``; the validator badge (an outside
    request) is off. Without JavaScript the page points to the OpenAPI description itself.

    >>> body = api_page("/openapi.json", "API").body.decode()
    >>> "cdn." in body, f'src="{SWAGGER_UI}swagger-ui-bundle.js"' in body
    (False, True)
    """
    page = get_swagger_ui_html(openapi_url=openapi_url, title=title, swagger_js_url=SWAGGER_UI + "swagger-ui-bundle.js",
                               swagger_css_url=SWAGGER_UI + "swagger-ui.css",
                               swagger_favicon_url=SWAGGER_UI + "favicon-32x32.png",
                               swagger_ui_parameters={"validatorUrl": None})
    link = html.escape(openapi_url)
    body = bytes(page.body).decode().replace(
        "<body>", f'<body><noscript><p>This page needs JavaScript; the API description itself is '
                  f'<a href="{link}">{link}</a>.</p></noscript>', 1)
    return HTMLResponse(body, headers={"Cache-Control": "no-cache"})
