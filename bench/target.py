"""A fast local HTTP target for the benchmarks: GET /health/<n> -> {"ok": true}.

Run: python bench/target.py PORT
"""

import sys

from aiohttp import web


async def health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def main() -> None:
    app = web.Application()
    app.router.add_get("/health/{n}", health)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
