"""HTTP checks: a request, its status, its body and JSON conditions on the answer."""

from checks.kinds.base import CheckKind, Setting
from checks.probes import http
from checks.probes.base import HTTP_METHODS, HttpTarget
from checks.sealing import MASK

KIND = CheckKind(
    name="http",
    label="HTTP",
    settings=(
        Setting("url", "text", "URL", "http:// or https://, e.g. https://api.example.com/health"),
        Setting("method", "choice", "Method", choices=tuple(sorted(HTTP_METHODS)), initial="GET"),
        Setting(
            "headers",
            "map",
            "Headers",
            f"Values are stored encrypted and shown as {MASK}; "
            "leave a mask as it is to keep the stored value.",
        ),
        Setting("expected_statuses", "int_list", "Expected statuses", "Empty: any 2xx or 3xx."),
        Setting("body_contains", "text", "Body contains"),
        Setting("conditions", "lines", "JSON conditions", "One per line, e.g. ok == true"),
        Setting("follow_redirects", "bool", "Follow redirects", initial=True),
        Setting("verify_tls", "bool", "Verify TLS certificate", initial=True),
    ),
    target=HttpTarget,
    probe=http.probe,
    target_setting="url",
)
