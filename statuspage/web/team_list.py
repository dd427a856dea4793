"""The refreshing list of the team page, drawn once and fingerprinted.

The list (summary, rows, page links) is rendered to a string and hashed. The page's poll
sends the fingerprint of what it shows; when the new list hashes the same, the answer is an
empty 204 and the browser keeps its page: a list of many rows costs the viewer nothing
while nothing changes. The "Updated" time sits outside the hashed part.
"""

import hashlib

from django.http import HttpRequest
from django.template.loader import render_to_string


def fingerprint(html: str) -> str:
    return hashlib.blake2b(html.encode(), digest_size=10).hexdigest()


def team_list_context(request: HttpRequest, context: dict) -> dict:
    """``context`` with ``list_html`` (the drawn list) and its ``fingerprint``."""
    html = render_to_string("web/_service_list.html", context, request=request)
    return {**context, "list_html": html, "fingerprint": fingerprint(html)}
