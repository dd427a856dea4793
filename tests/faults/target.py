"""A local HTTP target for the fault suite that counts the probes it receives.

GET /health/<n> -> {"ok": true} (every fifth target answers slowly, so some batch is always
in flight); GET /hits -> {"<n>": count, ...}.
Run: python tests/faults/target.py PORT
"""

import asyncio
import sys
from collections import Counter

from aiohttp import web

hits: Counter[str] = Counter()


async def health(request: web.Request) -> web.Response:
    n = request.match_info["n"]
    hits[n] += 1
    if n.isdigit() and int(n) % 5 == 0:
        await asyncio.sleep(1.5)
    return web.json_response({"ok": True})


async def counts(request: web.Request) -> web.Response:
    return web.json_response(dict(hits))


def main() -> None:
    app = web.Application()
    app.router.add_get("/health/{n}", health)
    app.router.add_get("/hits", counts)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
