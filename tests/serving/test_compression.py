"""deploy/serve_class.sh compresses what the page loads and caches what may be cached: the
hashed JavaScript comes back gzip- (or brotli-) encoded with Streamlit's year-long max-age, and
decodes to Streamlit's own file; the HTML and the health check are not cached; the websocket
negotiates permessage-deflate through nginx."""

from __future__ import annotations

import asyncio
import gzip
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest
import streamlit
from classserver import class_server
from test_isolation import loadtest

pytestmark = pytest.mark.serving

WORKER_PORTS = range(8720, 8730)  # this file's share of the machine's ports
NGINX_PORTS = range(8730, 8740)
STATIC = Path(streamlit.__file__).parent / "static" / "static"
BROTLI = Path("/usr/lib/nginx/modules/ngx_http_brotli_filter_module.so")
TINY_PAGE = """import streamlit as st
noise = st.select_slider("Noise", ["0", "20", "300", "2000"], value="300", key="noise")
st.metric("noise", noise)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    page = tmp_path_factory.mktemp("page") / "tiny.py"
    page.write_text(TINY_PAGE)
    with class_server(1, WORKER_PORTS, NGINX_PORTS, page=page, log_dir=page.parent) as s:
        yield s


@pytest.fixture(scope="module")
def largest_js() -> Path:
    """Streamlit's largest JavaScript asset (Plotly's chunk, 4.7 MB in 1.67)."""
    return max((STATIC / "js").glob("*.js"), key=lambda p: p.stat().st_size)


def get(url: str, encoding: str | None) -> tuple[dict, bytes]:
    """(headers with lower-case names, the body as sent) of a GET with that Accept-Encoding."""
    request = urllib.request.Request(url, headers={"Accept-Encoding": encoding or "identity"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return {k.lower(): v for k, v in response.headers.items()}, response.read()


def max_age(headers: dict) -> int:
    parts = [p.strip() for p in headers.get("cache-control", "").split(",")]
    return next((int(p.split("=", 1)[1]) for p in parts if p.startswith("max-age=")), 0)


def test_javascript_is_gzipped_with_a_long_max_age_and_decodes_to_streamlits_file(
    server, largest_js
):
    url = f"{server.url}static/js/{largest_js.name}"
    original = largest_js.read_bytes()
    plain_headers, plain = get(url, None)
    assert "content-encoding" not in plain_headers and plain == original
    for attempt in ("MISS", "HIT"):  # compressed once, then from nginx's cache
        headers, body = get(url, "gzip, deflate")
        assert headers["content-encoding"] == "gzip"
        assert headers["x-cache"] == attempt
        assert "accept-encoding" in headers["vary"].lower()
        assert max_age(headers) >= 365 * 86400 and "immutable" in headers["cache-control"]
        assert "no-cache" not in headers["cache-control"]
        assert gzip.decompress(body) == original
        assert len(body) < 0.35 * len(original)  # Plotly's bundle: 30 % with gzip -9


@pytest.mark.skipif(not BROTLI.exists(), reason="Debian's nginx brotli module is not installed")
@pytest.mark.skipif(not shutil.which("node"), reason="no node to decode brotli")
def test_javascript_is_brotli_encoded_when_asked_and_available(server, largest_js):
    url = f"{server.url}static/js/{largest_js.name}"
    headers, body = get(url, "gzip, deflate, br")
    assert headers["content-encoding"] == "br"
    assert max_age(headers) >= 365 * 86400 and "immutable" in headers["cache-control"]
    decoded = subprocess.run(  # node's zlib decodes brotli: an independent decoder
        [
            "node",
            "-e",
            "process.stdout.write(require('zlib').brotliDecompressSync("
            "require('fs').readFileSync(0)))",
        ],
        input=body,
        capture_output=True,
        timeout=60,
        check=True,
    ).stdout
    assert decoded == largest_js.read_bytes()
    gzipped = get(url, "gzip")[1]
    assert len(body) < 0.95 * len(gzipped)  # brotli beats gzip on it (measured: 0.89)


def test_the_html_is_compressed_never_cached_and_asks_for_plotly_at_once(server):
    headers, body = get(server.url, "gzip")
    assert headers["content-encoding"] == "gzip"
    assert "no-cache" in headers["cache-control"] and max_age(headers) == 0
    html = gzip.decompress(body).decode()
    plotly = [p.name for p in (STATIC / "js").glob("PlotlyChart.*.js")]
    assert len(plotly) == 1
    assert f'<link rel="modulepreload" crossorigin href="./static/js/{plotly[0]}">' in html
    assert html.index(plotly[0]) < html.index("</head>")
    plain_headers, plain = get(server.url, None)
    assert "content-encoding" not in plain_headers and plain.decode() == html


def test_the_health_check_is_not_cached_and_reaches_a_worker_each_time(server):
    for _ in range(3):
        headers, body = get(server.url + "_stcore/health", "gzip")
        assert body == b"ok"
        assert "no-cache" in headers["cache-control"] and max_age(headers) == 0
        assert headers["x-streamlit-worker"] == f"127.0.0.1:{server.workers[0]}"
        assert "x-cache" not in headers


def test_the_websocket_is_deflated_through_nginx_and_runs_the_page(server):
    async def tab():
        session = loadtest.Session(server.url)  # websockets offers permessage-deflate
        await session.connect()
        try:
            extensions = session.ws.response.headers.get("Sec-WebSocket-Extensions", "")
            first, second = await session.run(), await session.run(noise="20")
            return extensions, first.ok and second.ok
        finally:
            await session.close()

    extensions, ok = asyncio.run(tab())
    assert extensions.startswith("permessage-deflate") and ok
