"""Markdown from owners and incident writers, rendered to HTML that is safe to show.

Markdown is rendered first, then nh3 (an HTML sanitizer) keeps a small set of tags and
attributes; links get rel="noopener noreferrer nofollow" and only http(s)/mailto targets.
"""

import re

import markdown as markdown_lib
import nh3
from django.utils.safestring import SafeString, mark_safe

from statuspage.core.markdown_fences import IndentedFencesExtension

ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "code", "pre",
    "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
# An ordered list's start number: a list that resumes after a block keeps its numbering.
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}, "ol": {"start"}}
HEADING = re.compile(r"<(/?)h([1-6])>")


def render_markdown(text: str, *, top_heading: int = 1) -> SafeString:
    """``top_heading``: the level a "# heading" gets, for text shown under a page's own
    headings (deeper levels move down alike, to h6 at most)."""
    html = markdown_lib.markdown(
        text or "", extensions=[IndentedFencesExtension(), "fenced_code", "tables", "sane_lists"]
    )
    if top_heading > 1:
        shift = top_heading - 1
        html = HEADING.sub(lambda m: f"<{m[1]}h{min(int(m[2]) + shift, 6)}>", html)
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(clean)  # noqa: S308  (sanitized just above)
