"""`python -m simulators.alipay --port 0 --seed seed.json`: serve on 127.0.0.1, print the URL
(the gateway is at /gateway.do).."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from werkzeug.serving import make_server

from .app import create_app, load_seed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", type=Path, required=True)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", args.port, create_app(load_seed(args.seed)), threaded=True)
    print(f"alipay simulator on http://127.0.0.1:{server.server_port}/gateway.do", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
