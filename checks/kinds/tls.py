"""TLS checks: the certificate's validity and how many days it has left."""

from checks.kinds.base import CheckKind, Setting
from checks.probes import tls
from checks.probes.base import TlsTarget

KIND = CheckKind(
    name="tls",
    label="TLS certificate",
    settings=(
        Setting("host", "text", "Host"),
        Setting("port", "int", "Port", "Empty: 443."),
        Setting("server_name", "text", "Server name", "Empty: the host."),
        Setting("warn_days", "int", "Degraded below (days)", "Empty: 14."),
        Setting("critical_days", "int", "Down below (days)", "Empty: 3."),
        Setting("verify", "bool", "Verify the certificate chain", initial=True),
    ),
    target=TlsTarget,
    probe=tls.probe,
    target_setting="host",
)
