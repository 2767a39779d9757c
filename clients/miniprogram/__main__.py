"""`python -m clients.miniprogram`: the sample back end on 127.0.0.1 (MINIPROGRAM_PORT, 5003),
with TONGBAN_ISSUER, MINIPROGRAM_CLIENT_ID and MINIPROGRAM_CLIENT_SECRET from the environment."""

from __future__ import annotations

import logging
import os

from .backend import MiniProgramBackend, create_app


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    backend = MiniProgramBackend(os.environ["TONGBAN_ISSUER"], os.environ["MINIPROGRAM_CLIENT_ID"],
                                 os.environ["MINIPROGRAM_CLIENT_SECRET"])
    create_app(backend).run(host="127.0.0.1", port=int(os.environ.get("MINIPROGRAM_PORT", "5003")),
                            threaded=True)


if __name__ == "__main__":
    main()
