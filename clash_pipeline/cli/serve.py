"""`clash serve`: the HTTP API (FastAPI on uvicorn)."""

from __future__ import annotations

import argparse
import logging
import sys


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from clash_pipeline.api import create_app
    from clash_pipeline.api.settings import load_api_settings

    try:
        api = load_api_settings()
    except ValueError as error:
        print(f"clash serve: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    print(f"serving the API on http://{args.host}:{args.port} (OpenAPI at /openapi.json)", file=sys.stderr)
    # uvicorn's own access log is off: the API logs one line per request without query strings or headers
    uvicorn.run(create_app(api=api), host=args.host, port=args.port, access_log=False, log_level="info")
    return 0


def _port(value: str) -> int:
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise argparse.ArgumentTypeError(f"not a port: {value!r}")
    return int(value)


def register(commands) -> None:
    serve = commands.add_parser("serve", help="serve the HTTP API (OpenAPI at /openapi.json)",
                                description="Serve the product's HTTP API. Settings from the environment: "
                                            "CLASH_API_SIWE_DOMAINS, CLASH_API_CHAIN_IDS, CLASH_OPERATOR_ADDRESSES, "
                                            "CLASH_API_CORS_ORIGINS, CLASH_AUDITION_FEES_WEI, CLASH_API_RATE_* "
                                            "(see README: HTTP API).")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8000, help="port (default 8000)")
    serve.set_defaults(func=cmd_serve)
