"""The entries the public cache keeps (body, gzipped copy, ETag) and the last-good
snapshots of them on disk, served marked stale while the database is unreachable
(``statuspage.web.public_cache``)."""

import gzip
import hashlib
import json
import logging
import os
import tempfile
import time
import zlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.utils.dateformat import format as date_format
from django.utils.html import format_html

from statuspage.core.days import day_zone

# Logged under the cache's name: these lines belong with its own.
logger = logging.getLogger("statuspage.web.public_cache")

CACHE_TIMEOUT_S = 60
GZIP_MIN_BYTES = 1024
# Level 6 is where a bigger level stops making the page much smaller for its extra time
# (bench/public_page.py measures the page).
GZIP_LEVEL = 6
# The page template puts this where the stale notice goes; nothing else writes it.
STALE_MARKER = b"<!--stale-notice-->"

SNAPSHOT_PAGE = "status-page"
SNAPSHOT_SUMMARY = "summary-json"


@dataclass(frozen=True)
class Entry:
    body: bytes | None  # None in the shared cache when the gzipped copy is there
    gzipped: bytes | None  # None for small bodies
    content_type: str
    etag: str
    rendered_at: float  # epoch seconds
    expires_at: float  # epoch seconds

    def shared(self) -> "Entry":
        """What the shared cache keeps: the gzipped copy alone when there is one (a big page
        compresses to a small fraction of its size)."""
        return replace(self, body=None) if self.gzipped is not None else self

    def complete(self) -> "Entry":
        if self.body is not None:
            return self
        return replace(self, body=gzip.decompress(self.gzipped))


def make_entry(body: bytes, content_type: str, *, rendered_at: float) -> Entry:
    gzipped = None
    if len(body) >= GZIP_MIN_BYTES:
        gzipped = gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)
    # The gzipped bytes are as distinct as the body (fixed mtime) and far fewer to hash.
    digest = hashlib.sha256(gzipped if gzipped is not None else body).hexdigest()[:32]
    return Entry(
        body=body,
        gzipped=gzipped,
        content_type=content_type,
        etag=f'W/"{digest}"',
        rendered_at=rendered_at,
        expires_at=rendered_at + CACHE_TIMEOUT_S,
    )


def _snapshot_path(name: str) -> Path:
    return Path(settings.STATUS_SNAPSHOT_DIR) / f"{name}.snapshot"


def snapshot_write(name: str, entry: Entry) -> None:
    """Keep the last good body on disk: a header line of JSON, then the body, gzipped when
    the entry has a gzipped copy (far fewer bytes to write on the render path).

    Written to a temporary file in the same folder and renamed over the old one, so a
    reader sees the old or the new snapshot, never half of one. No fsync: it would put
    disk latency on the request that renders, and the copy matters while the database is
    down, not after a power cut (when the next render writes it again). A render
    identical to the stored snapshot (same ETag) only moves the file's modification time:
    the content was still current then, which the stale notice reports.
    """
    path = _snapshot_path(name)
    header = {
        "content_type": entry.content_type,
        "rendered_at": entry.rendered_at,
        "etag": entry.etag,
        "encoding": "gzip" if entry.gzipped is not None else "identity",
    }
    try:
        if _snapshot_etag(path) == entry.etag:
            os.utime(path)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            dir=path.parent, prefix=f".{name}.", delete=False
        ) as handle:
            handle.write(json.dumps(header).encode() + b"\n")
            handle.write(entry.gzipped if entry.gzipped is not None else entry.body)
        os.replace(handle.name, path)
    except OSError as exc:
        logger.warning("public_snapshot_failed name=%s error=%s", name, exc)


def _snapshot_etag(path: Path) -> str | None:
    try:
        with path.open("rb") as handle:
            return json.loads(handle.readline()).get("etag")
    except (OSError, ValueError):
        return None


def snapshot_read(name: str) -> Entry | None:
    """The last good copy of ``name``, marked stale, or None if there is none."""
    path = _snapshot_path(name)
    try:
        raw = path.read_bytes()
        head, _, body = raw.partition(b"\n")
        header = json.loads(head)
        rendered_at = max(float(header["rendered_at"]), path.stat().st_mtime)
        if header.get("encoding") == "gzip":
            body = gzip.decompress(body)
    except (OSError, ValueError, KeyError, EOFError, zlib.error) as exc:
        logger.warning("public_snapshot_missing name=%s error=%s", name, exc)
        return None
    content_type = header["content_type"]
    body = mark_stale(body, content_type, rendered_at)
    entry = make_entry(body, content_type, rendered_at=rendered_at)
    return replace(entry, expires_at=time.time())


def mark_stale(body: bytes, content_type: str, rendered_at: float) -> bytes:
    moment = datetime.fromtimestamp(rendered_at, tz=UTC)
    if content_type.startswith("application/json"):
        data = json.loads(body)
        data["stale"] = True
        return json.dumps(data, separators=(",", ":")).encode()
    local = moment.astimezone(day_zone())
    notice = format_html(
        '<p class="stale" role="alert">This page may be out of date: last updated '
        '<time datetime="{}">{}</time>. Current status is temporarily unavailable.</p>',
        moment.isoformat(timespec="seconds"),
        date_format(local, "j M Y, H:i T"),
    )
    return body.replace(STALE_MARKER, notice.encode(), 1)
