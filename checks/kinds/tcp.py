"""TCP checks: can a connection to host:port be opened."""

from checks.kinds.base import CheckKind, Setting
from checks.probes import tcp
from checks.probes.base import TcpTarget

KIND = CheckKind(
    name="tcp",
    label="TCP connect",
    settings=(Setting("host", "text", "Host"), Setting("port", "int", "Port")),
    target=TcpTarget,
    probe=tcp.probe,
    target_setting="host",
)
