"""Screening answers are kept between probes: a repeated question gets the same answer,
and a different allowlist is a different question."""

import pytest

from checks.screening import Allowlist, TargetRefused, screen_address, screen_literal

NOTHING = Allowlist()
LOOPBACK = Allowlist.parse(["loopback"])
EVERYTHING = Allowlist.parse(["private", "loopback", "169.254.0.0/16"])


def test_a_repeated_address_is_refused_or_allowed_by_each_allowlist():
    for _ in range(3):
        with pytest.raises(TargetRefused, match="loopback"):
            screen_address("127.0.0.1", allow_private=NOTHING)
        screen_address("127.0.0.1", allow_private=LOOPBACK)
        with pytest.raises(TargetRefused, match="loopback"):
            screen_literal("0x7f.1", allow_private=NOTHING)
        assert screen_literal("0x7f.1", allow_private=LOOPBACK) is True


def test_a_metadata_address_stays_refused_however_often_it_is_asked():
    for _ in range(3):
        with pytest.raises(TargetRefused, match="metadata"):
            screen_address("169.254.169.254", allow_private=EVERYTHING)
        with pytest.raises(TargetRefused, match="metadata"):
            screen_literal("[::ffff:169.254.169.254]", allow_private=True)
