"""`python -m simulators.wechat --port 0 --seed seed.json`: serve on 127.0.0.1, print the URL."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from werkzeug.serving import make_server

from .app import create_app

DEFAULT_SEED = Path(__file__).with_name("seed.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", type=Path, default=DEFAULT_SEED)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # query strings hold codes
    server = make_server("127.0.0.1", args.port, create_app(json.loads(args.seed.read_text())),
                         threaded=True)
    print(f"wechat simulator on http://127.0.0.1:{server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
