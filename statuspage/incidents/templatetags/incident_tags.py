"""Formatting for the incident and maintenance pages of the team site.

``{% load incident_tags %}``: ``{{ value|status_label }}`` turns a stored status value
("partial_outage") into words ("Partial outage"); ``{{ when|when }}`` gives a ``<time>``
element with the time in the viewer's zone.
"""

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


@register.filter
def status_label(value: str) -> str:
    return str(value or "").replace("_", " ").capitalize()


@register.filter
def when(value: datetime | None) -> SafeString | str:
    if value is None:
        return "—"
    local = timezone.localtime(value)
    return format_html(
        '<time datetime="{}">{}</time>', value.isoformat(), date_format(local, "Y-m-d H:i T")
    )
