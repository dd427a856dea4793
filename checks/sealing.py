"""Secret check settings, encrypted at rest.

Header values (tokens, cookies, API keys) and a URL's password are secrets. They are stored
as ``sealed:<Fernet token>`` strings inside ``Check.config`` and opened only when read back
into Python (the probe needs them); pages, the admin and the API show them as ``MASK``.

Keys come from ``CHECK_SECRET_KEYS``: the first seals, every one opens, so rotating a key
is "put the new one first, run ``manage.py check_secrets_reseal``, drop the old one". Each
configured key is a passphrase stretched to a Fernet key with HKDF.

A value no configured key opens stays sealed in memory (it is never lost by a save); the
probe refuses such a check with a message naming the missing key instead of sending
ciphertext to the target.
"""

import base64
import functools
from collections.abc import Mapping
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import models
from django.db.models.fields.json import KeyTransform

PREFIX = "sealed:"
MASK = "********"


class SecretUnreadable(ValueError):
    """A sealed value that none of CHECK_SECRET_KEYS opens."""


def _derive(passphrase: str) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"statuspage check secrets"
    ).derive(passphrase.encode())
    return Fernet(base64.urlsafe_b64encode(key))


@functools.lru_cache(maxsize=4)
def _fernets(keys: tuple[str, ...]) -> tuple[MultiFernet, Fernet]:
    if not keys:
        raise SecretUnreadable("CHECK_SECRET_KEYS is empty")
    fernets = [_derive(key) for key in keys]
    return MultiFernet(fernets), fernets[0]


def _keys() -> tuple[MultiFernet, Fernet]:
    return _fernets(tuple(settings.CHECK_SECRET_KEYS))


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def seal_text(text: str) -> str:
    if is_sealed(text):
        return text
    return PREFIX + _keys()[0].encrypt(text.encode()).decode()


def unseal_text(text: str) -> str:
    if not is_sealed(text):
        return text
    try:
        return _keys()[0].decrypt(text.removeprefix(PREFIX).encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "a secret setting cannot be decrypted: none of CHECK_SECRET_KEYS opens it"
        ) from None


def sealed_with_primary(text: str) -> bool:
    """Whether the first (current) key opens ``text``: if not, it needs resealing."""
    try:
        _keys()[1].decrypt(text.removeprefix(PREFIX).encode())
    except InvalidToken:
        return False
    return True


# --- Whole configs ------------------------------------------------------------------------


def _url_password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def _url_with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    userinfo = f"{parts.username or ''}:{password}@"
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(SplitResult(parts.scheme, userinfo + host, *parts[2:]))


def config_seal(config: Any) -> Any:
    """``config`` with its secret values sealed (values sealed already stay as they are)."""
    if not isinstance(config, Mapping):
        return config
    sealed = dict(config)
    headers = sealed.get("headers")
    if isinstance(headers, Mapping):
        sealed["headers"] = {
            name: seal_text(value) if isinstance(value, str) else value
            for name, value in headers.items()
        }
    url = sealed.get("url")
    if isinstance(url, str) and not is_sealed(url) and _url_password(url):
        sealed["url"] = seal_text(url)
    return sealed


def config_unseal(value: Any) -> Any:
    """``value`` with every sealed string opened; one no key opens stays sealed."""
    if isinstance(value, str):
        try:
            return unseal_text(value)
        except SecretUnreadable:
            return value
    if isinstance(value, Mapping):
        return {key: config_unseal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [config_unseal(item) for item in value]
    return value


def config_unreadable(config: Mapping[str, Any]) -> list[str]:
    """Settings still sealed after opening (their key is missing), by name."""
    names = [key for key, value in config.items() if is_sealed(value)]
    headers = config.get("headers")
    if isinstance(headers, Mapping):
        names += [f"headers.{name}" for name, value in headers.items() if is_sealed(value)]
    return names


def config_masked(config: Any) -> Any:
    """``config`` as anyone may see it: header values and URL passwords replaced by MASK."""
    if not isinstance(config, Mapping):
        return config
    masked = dict(config)
    headers = masked.get("headers")
    if isinstance(headers, Mapping):
        masked["headers"] = dict.fromkeys(headers, MASK)
    url = masked.get("url")
    if isinstance(url, str):
        try:
            url = unseal_text(url)
        except SecretUnreadable:
            url = None
        if url is None:
            masked["url"] = MASK
        elif _url_password(url):
            masked["url"] = _url_with_password(url, MASK)
    return masked


def config_keep_masked(new: Any, old: Any) -> Any:
    """``new`` with each value still showing MASK replaced by the stored secret it stands for.

    Raises ValueError naming the setting when MASK stands for a secret that does not exist
    (a header added with the mask as its value, a password typed as the mask).
    """
    if not isinstance(new, Mapping):
        return new
    old = old if isinstance(old, Mapping) else {}
    kept = dict(new)
    headers = kept.get("headers")
    if isinstance(headers, Mapping):
        old_headers = old.get("headers") if isinstance(old.get("headers"), Mapping) else {}
        by_lower = {str(name).lower(): value for name, value in old_headers.items()}
        merged = {}
        for name, value in headers.items():
            if value == MASK:
                if str(name).lower() not in by_lower:
                    raise ValueError(f"header {name!r}: enter its value")
                value = by_lower[str(name).lower()]
            merged[name] = value
        kept["headers"] = merged
    url = kept.get("url")
    if isinstance(url, str) and _url_password(url) == MASK:
        old_url = old.get("url")
        old_password = _url_password(unseal_text(old_url)) if isinstance(old_url, str) else None
        if not old_password:
            raise ValueError("url: enter the password instead of the mask")
        kept["url"] = _url_with_password(url, old_password)
    return kept


class SealedJSONField(models.JSONField):
    """A JSON config whose secret values are sealed on every write and opened on read."""

    def get_db_prep_save(self, value, connection):
        if isinstance(value, Mapping):
            value = config_seal(value)
        return super().get_db_prep_save(value, connection)

    def from_db_value(self, value, expression, connection):
        value = super().from_db_value(value, expression, connection)
        if isinstance(expression, KeyTransform) and not isinstance(value, str | Mapping | list):
            return value
        return config_unseal(value)
