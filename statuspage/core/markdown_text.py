"""Markdown as plain text, for JSON read by widgets that may insert it as HTML.

The text is taken from the sanitized HTML of ``render_markdown`` (so what a page shows and
what the API says are the same words), with paragraphs and list items on lines of their
own. Tags typed as text (``&lt;script&gt;`` in the Markdown) are dropped as well: the
result holds no markup, no event handler attribute and no script URL to execute.
"""

import re
from functools import lru_cache
from html.parser import HTMLParser

from statuspage.core.markdown import render_markdown

BLOCKS = {"p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "tr"}
# Something a browser would parse as a tag, a comment or a declaration.
TAG_LIKE = re.compile(r"<[/!?a-zA-Z][^>]*>?")
SCRIPT_URL = re.compile(r"\b(?:java|vb)script\s*:", re.IGNORECASE)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag == "li":
            self.parts.append("\n- ")
        elif tag in BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


@lru_cache(maxsize=1024)
def markdown_text(text: str) -> str:
    """The plain text of Markdown ``text``: no tags, blank lines between blocks."""
    parser = _Text()
    parser.feed(render_markdown(text))
    parser.close()
    plain = "".join(parser.parts)
    previous = None
    while previous != plain:  # removing one tag can join the halves of another
        previous, plain = plain, TAG_LIKE.sub("", plain)
    plain = SCRIPT_URL.sub("", plain)
    lines = [line.rstrip() for line in plain.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
