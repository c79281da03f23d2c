"""The yardstick: a bare FastAPI endpoint returning a constant small page, served like the app.

`python -m bench.yardstick --port N` serves it as `peacetalks serve --workers 2` serves the app
(app.serving: two workers, each on its own socket), so a ratio compares the apps, not the ways
of serving them.
"""

import argparse

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

app = FastAPI()
PAGE = "<!doctype html><html><head><title>yardstick</title></head><body><p>Hello.</p></body></html>"


@app.get("/", response_class=HTMLResponse)
def constant() -> str:
    """The same few bytes every time."""
    return PAGE


def main() -> None:
    from app import serving

    parser = argparse.ArgumentParser(description="Serve the yardstick like the app.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    options = {"log_level": "warning", "access_log": False}
    raise SystemExit(
        serving.serve(
            "bench.yardstick:app", host=args.host, port=args.port, workers=args.workers, **options
        )  # fmt: skip
    )


if __name__ == "__main__":
    main()
