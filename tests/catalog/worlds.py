"""The admin as a browser drives it: requests over HTTPS, and the POST body of a rendered form.

Shared by the admin, owner-note, account and API tests.
"""

from html.parser import HTMLParser

from django.test import Client


class HttpsClient(Client):
    """A test client whose every request is made over HTTPS, as production serves it."""

    def generic(
        self, method, path, data="", content_type="application/octet-stream", secure=True, **kw
    ):
        return super().generic(method, path, data, content_type, True, **kw)


class _FormFields(HTMLParser):
    """What a browser submits from the admin's main form (the one whose id ends in _form)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.fields: dict[str, list[str]] = {}
        self.textareas: set[str] = set()
        self._in_form = False
        self._textarea: str | None = None
        self._text: list[str] = []
        self._select: str | None = None

    def _add(self, name: str, value: str) -> None:
        if "__prefix__" not in name:
            self.fields.setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        attr = dict(attrs)
        if tag == "form":
            self._in_form = (attr.get("id") or "").endswith("_form")
            return
        if not self._in_form:
            return
        name = attr.get("name")
        if tag == "input" and name:
            kind = attr.get("type", "text")
            if kind in {"submit", "button", "reset", "file", "image"}:
                return
            if kind in {"checkbox", "radio"}:
                if "checked" in attr:
                    self._add(name, attr.get("value") or "on")
                return
            self._add(name, attr.get("value") or "")
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []
            self.textareas.add(name)
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in attr:
            self._add(self._select, attr.get("value") or "")

    def handle_data(self, data):
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False
        elif tag == "textarea" and self._textarea is not None:
            text = "".join(self._text)
            # Browsers drop the newline that directly follows <textarea>.
            self._add(self._textarea, as_submitted(text.removeprefix("\r\n").removeprefix("\n")))
            self._textarea = None
        elif tag == "select":
            self._select = None


def as_submitted(text: str) -> str:
    """A textarea's value as browsers submit it: every line break as CRLF."""
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def form_payload(response, **changes: str) -> dict[str, list[str] | str]:
    """The POST body of the page's admin form as rendered, with ``changes`` typed in."""
    assert response.status_code == 200, response.status_code
    parser = _FormFields()
    parser.feed(response.content.decode())
    assert parser.fields, "the page has no admin form"
    payload: dict[str, list[str] | str] = dict(parser.fields)
    for name, value in changes.items():
        payload[name] = as_submitted(value) if name in parser.textareas else value
    payload["_save"] = "Save"
    return payload
