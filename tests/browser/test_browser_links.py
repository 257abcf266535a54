"""Links students can open, in a real browser: a teacher opens the page at 127.0.0.1 on a server
started with browser.serverAddress set, and the share and lesson links carry that address, say
so in a line, and the share link's QR code (drawn by Chromium, read back by zxing-cpp, a decoder
apart from the encoder) is the link. Screenshots go to /tmp/links-shots for a person to look at.

The server listens on 127.0.0.1 only (this machine's rule for tests), so the case of the
machine's own network address is tested without a browser (tests/page/test_app_links.py)."""

from __future__ import annotations

import io
import urllib.parse
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import expect

from lrui import lessons
from support.browser import LONG, serve, settled, wait_for_chart

pytestmark = pytest.mark.browser

SERVER = "lr-class.example.org"  # what a teacher sets: the name students' computers reach
NOTE = f"Links use the server address set in browser.serverAddress ({SERVER})."
SHOTS = Path("/tmp/links-shots")
PROJECT = 400  # px: the QR code's least side on the page, to be read from across a room


@pytest.fixture(scope="module")
def url():
    """The page served on 127.0.0.1 with browser.serverAddress set, as a teacher would."""
    with serve(extra=("--browser.serverAddress", SERVER)) as address:
        yield address


def opened(page, key: str, shows: str) -> None:
    """Open the expander with `key` and wait until its content `shows`."""
    page.locator(f".st-key-{key} summary").click()
    page.locator(f".st-key-{key} {shows}").first.wait_for()
    settled(page)


def test_links_carry_the_server_address_and_the_qr_code_reads_as_the_share_link(page, url):
    port = urllib.parse.urlsplit(url).port
    reachable = f"http://{SERVER}:{port}"
    page.goto(url + "/")  # http://127.0.0.1:PORT/
    wait_for_chart(page, timeout=LONG * 2)

    opened(page, "lessons", ".st-key-hide_picker")
    box = page.locator(".st-key-lessons")
    hrefs = box.locator("a[href*='lesson=']").evaluate_all("(as) => as.map((a) => a.href)")
    assert hrefs == [f"{reachable}/?lesson={name}" for name in lessons.LESSONS]
    expect(box.get_by_text(NOTE, exact=True)).to_be_visible()

    opened(page, "share", ".st-key-download_log")
    box = page.locator(".st-key-share")
    link = box.locator("[data-testid=stCode] code").inner_text().strip()
    query = urllib.parse.urlsplit(page.url).query  # the run on screen
    assert link == f"{reachable}?{query}"
    expect(box.get_by_text(NOTE, exact=True)).to_be_visible()

    box.locator(".st-key-share_qr label").click()
    image = box.locator("[data-testid=stImage] img")
    expect(image).to_be_visible(timeout=LONG)  # after the rerun the toggle asks for
    page.wait_for_function(
        "(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    size = image.bounding_box()
    assert min(size["width"], size["height"]) >= PROJECT
    image.scroll_into_view_if_needed()
    read = zxingcpp.read_barcodes(Image.open(io.BytesIO(image.screenshot())))
    assert [(r.format, r.text) for r in read] == [(zxingcpp.BarcodeFormat.QRCode, link)]
    SHOTS.mkdir(parents=True, exist_ok=True)
    box.screenshot(path=str(SHOTS / "share-qr.png"))
