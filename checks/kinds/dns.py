"""DNS checks: a name resolves, optionally to the expected answers, at a given nameserver."""

from checks.kinds.base import CheckKind, Setting
from checks.probes import dns
from checks.probes.base import DNS_RECORD_TYPES, DnsTarget

KIND = CheckKind(
    name="dns",
    label="DNS",
    settings=(
        # Written "domain" in YAML, where "name" names the check.
        Setting(
            "name",
            "text",
            "Domain name",
            "The name to resolve, e.g. api.example.com.",
            yaml_key="domain",
        ),
        Setting(
            "record_type",
            "choice",
            "Record type",
            choices=tuple(sorted(DNS_RECORD_TYPES)),
            initial="A",
        ),
        Setting("expected", "text_list", "Expected answers", "Comma-separated."),
        Setting("nameserver", "text", "Nameserver", "Empty: the system's resolver."),
        Setting("port", "int", "Nameserver port", "Empty: 53."),
    ),
    target=DnsTarget,
    probe=dns.probe,
    target_setting="nameserver",
)
