"""The yardstick: a bare FastAPI endpoint returning a constant small page, served like the app."""

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

app = FastAPI()
PAGE = "<!doctype html><html><head><title>yardstick</title></head><body><p>Hello.</p></body></html>"


@app.get("/", response_class=HTMLResponse)
def constant() -> str:
    """The same few bytes every time."""
    return PAGE
