"""SVG badges of public services: current status and 30-day uptime.

/status/badge/<slug>.svg and /status/badge/<slug>/uptime.svg, in the flat style README
files use. A private service answers 404 exactly like an unknown one.
"""

from django.http import Http404, HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.views.decorators.http import require_safe

from statuspage.web import public
from statuspage.web.public_cache import serve
from statuspage.web.public_views import uptime_text
from statuspage.web.uptime import uptime_rank

SVG = "image/svg+xml; charset=utf-8"
STATUS_COLOUR = {
    "operational": "#2e7d32",
    "degraded_performance": "#8a6d00",
    "partial_outage": "#c2410c",
    "major_outage": "#c62828",
    "under_maintenance": "#1d5fb4",
}
NO_DATA_COLOUR = "#666666"
# Approximate advance widths (px) of Verdana at 11 px: enough to size the two boxes.
NARROW = set("fijlrt.,:;'!|() ")
WIDE = set("mwMW%")


def text_width(text: str) -> int:
    width = 0.0
    for char in text:
        if char in NARROW:
            width += 4.0
        elif char in WIDE:
            width += 10.5
        elif char.isupper() or char.isdigit():
            width += 7.5
        else:
            width += 6.6
    return round(width)


# Per uptime level (statuspage.web.uptime), the colour of the status that level matches.
LEVEL_COLOUR = tuple(
    STATUS_COLOUR[status]
    for status in ("operational", "degraded_performance", "partial_outage", "major_outage")
)


def uptime_colour(uptime: float | None) -> str:
    rank = uptime_rank(uptime)
    return NO_DATA_COLOUR if rank is None else LEVEL_COLOUR[rank]


def render_badge(label: str, value: str, colour: str) -> bytes:
    label_w = text_width(label) + 12
    value_w = text_width(value) + 12
    context = {
        "label": label,
        "value": value,
        "colour": colour,
        "label_w": label_w,
        "value_w": value_w,
        "width": label_w + value_w,
        "label_x": label_w / 2,
        "value_x": label_w + value_w / 2,
    }
    return render_to_string("public/badge.svg", context).encode()


def _badge(slug: str) -> public.Badge:
    badge = public.public_badge(slug)
    if badge is None:
        raise Http404("No such public service")
    return badge


@require_safe
def status_badge(request: HttpRequest, slug: str) -> HttpResponse:
    def render() -> bytes:
        badge = _badge(slug)
        label = public.LABELS[badge.status].lower()
        return render_badge(badge.name, label, STATUS_COLOUR[badge.status])

    return serve(request, f"badge:{slug}", render, content_type=SVG)


@require_safe
def uptime_badge(request: HttpRequest, slug: str) -> HttpResponse:
    def render() -> bytes:
        badge = _badge(slug)
        value = uptime_text(badge.uptime_30d)
        return render_badge(f"{badge.name} uptime 30d", value, uptime_colour(badge.uptime_30d))

    return serve(request, f"badge-uptime:{slug}", render, content_type=SVG)
