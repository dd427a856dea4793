"""A tiny local service for the demo checks to watch, started by `make run` on PORT + 1.

It answers like the services the dashboard is made for, so a fresh demo shows real,
mostly healthy results on any machine, plus two endpoints that misbehave on purpose:

    GET /health                  {"ok": true}
    GET /queue                   {"ok": true, "depth": 3}
    GET /deliberately-slow       200, but only after SLOW_S
    GET /deliberately-failing    503 {"ok": false}, always

Standard library only; one thread per request; no logging per request.
"""

import argparse
import json
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SLOW_S = 0.6
ROUTES: dict[str, tuple[int, dict]] = {
    "/": (200, {"ok": True, "service": "demo target"}),
    "/health": (200, {"ok": True}),
    "/queue": (200, {"ok": True, "depth": 3}),
    "/deliberately-slow": (200, {"ok": True, "slow": True}),
    "/deliberately-failing": (503, {"ok": False, "error": "this endpoint fails on purpose"}),
}


class Handler(BaseHTTPRequestHandler):
    server_version = "demo-target"

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        status, body = ROUTES.get(path, (404, {"ok": False, "error": "not found"}))
        if path == "/deliberately-slow":
            time.sleep(SLOW_S)
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_HEAD = do_GET

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the checks record every request already."""


def serve(port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    server = serve(args.port)

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
