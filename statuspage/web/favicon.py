"""/favicon.ico, which browsers ask for on every site whatever the page links to (the admin
included): the icon of ``static/favicon.ico``, read once, cached by browsers for a day."""

from functools import lru_cache

from django.contrib.staticfiles import finders
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

MAX_AGE_S = 86_400


@lru_cache(maxsize=1)
def _icon() -> bytes | None:
    path = finders.find("favicon.ico")
    if path is None:
        return None
    with open(path, "rb") as handle:
        return handle.read()


@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    icon = _icon()
    if icon is None:
        raise Http404("No icon")
    response = HttpResponse(icon, content_type="image/x-icon")
    response["Cache-Control"] = f"public, max-age={MAX_AGE_S}"
    return response
