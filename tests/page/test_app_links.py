"""Links students can open: on a page opened at localhost, the share and lesson links use the
address other computers reach it at (Streamlit's Network URL, or browser.serverAddress), and
say so; the share link shows as a QR code.

The expected links are written out by hand from the case's own inputs (host, port, path), not
computed by the page's code."""

from __future__ import annotations

import base64
import re
import urllib.parse

import numpy as np
import pytest
import segno
from streamlit import config, net_util
from streamlit.testing.v1 import AppTest

from lrcore import settings as cfg
from lrcore.linkpoints import MAX_LINK_POINTS, encode_points
from lrui import address, lessons
from lrui.address import reachable

TIMEOUT = 60
NETWORK = "192.168.1.20"
NETWORK_NOTE = (
    f"Links use this computer's network address {NETWORK} so students can open them; "
    "students must be on the same network."
)
ONLY_HERE = "These links work only on this computer"


# --- the address: reachable(page, browser.serverAddress, network address, port) ---------------


@pytest.mark.parametrize(
    "page, expected",
    [
        ("http://localhost:8501/", f"http://{NETWORK}:8501/"),
        ("http://127.0.0.1:8501/", f"http://{NETWORK}:8501/"),
        ("http://[::1]:8501/", f"http://{NETWORK}:8501/"),
        ("http://127.0.1.1:8501/", f"http://{NETWORK}:8501/"),  # all of 127/8 is this computer
        ("http://0.0.0.0:8501/", f"http://{NETWORK}:8501/"),
        ("http://app.localhost:8501/", f"http://{NETWORK}:8501/"),
        ("http://localhost:8501/class/lr/", f"http://{NETWORK}:8501/class/lr/"),  # a base path
        ("https://localhost:8501/", f"https://{NETWORK}:8501/"),  # the scheme
    ],
)
def test_a_page_on_this_computer_links_to_its_network_address(page, expected):
    assert reachable(page, None, NETWORK, 8501) == (expected, NETWORK_NOTE)


def test_the_network_address_takes_streamlits_port_and_keeps_the_path():
    base, _ = reachable("http://localhost:8642/lr", None, NETWORK, 8642)
    assert base == f"http://{NETWORK}:8642/lr"
    # Streamlit's port (browser.serverPort) is where the server listens, even when this
    # browser reaches it through a forwarded port
    base, _ = reachable("http://localhost:9000/lr", None, NETWORK, 8642)
    assert base == f"http://{NETWORK}:8642/lr"


@pytest.mark.parametrize(
    "server_address, expected, named",
    [
        ("class.example.org", "http://class.example.org:8501/lr/", "class.example.org"),
        ("10.1.2.3", "http://10.1.2.3:8501/lr/", "10.1.2.3"),
        ("fe80::1", "http://[fe80::1]:8501/lr/", "fe80::1"),
        ("class.example.org/physics", "http://class.example.org:8501/physics", "class.example.org"),
        ("https://class.example.org", "https://class.example.org:8501/lr/", "class.example.org"),
    ],
)
def test_a_server_address_the_teacher_set_wins_over_the_network_address(
    server_address, expected, named
):
    base, note = reachable("http://127.0.0.1:8501/lr/", server_address, NETWORK, 8501)
    assert base == expected
    assert note == f"Links use the server address set in browser.serverAddress ({named})."


def test_the_schemes_own_port_is_left_out():
    base, _ = reachable("http://localhost:8501/", "https://class.example.org", None, 443)
    assert base == "https://class.example.org/"


@pytest.mark.parametrize(
    "page",
    [
        "http://class.example.org:8501/lr/",
        "https://lr.example.org/",
        f"http://{NETWORK}:8501/",
        "http://10.9.8.7:8642/",
    ],
)
def test_a_page_opened_at_a_real_address_keeps_it_and_says_nothing(page):
    assert reachable(page, "class.example.org", NETWORK, 8501) == (page, None)


def test_without_a_network_address_links_stay_and_say_they_work_only_here():
    base, note = reachable("http://localhost:8501/", None, None, 8501)
    assert base == "http://localhost:8501/"
    assert note.startswith(ONLY_HERE) and "browser.serverAddress" in note


def test_no_page_address_gives_relative_links():
    assert reachable("", "class.example.org", NETWORK, 8501) == ("", None)


@pytest.fixture
def options(monkeypatch):
    """Set Streamlit options as a teacher would (set by hand), for one test."""
    given: dict[str, object] = {}
    get_option, is_manually_set = config.get_option, config.is_manually_set
    monkeypatch.setattr(config, "get_option", lambda k: given[k] if k in given else get_option(k))
    monkeypatch.setattr(config, "is_manually_set", lambda k: k in given or is_manually_set(k))
    return given


@pytest.mark.parametrize(
    "listens, internal, expected",
    [
        (None, NETWORK, NETWORK),  # server.address not set: every address, Network URL
        ("0.0.0.0", NETWORK, NETWORK),
        ("::", NETWORK, NETWORK),
        ("10.1.2.3", NETWORK, "10.1.2.3"),  # listens on one address: that one
        ("127.0.0.1", NETWORK, None),  # listens only to this computer
        ("localhost", NETWORK, None),
        ("unix:///tmp/lr.sock", NETWORK, None),
        (None, "127.0.0.1", None),  # Streamlit found no network address
    ],
)
def test_the_network_address_is_streamlits(options, monkeypatch, listens, internal, expected):
    monkeypatch.setattr(net_util, "get_internal_ip", lambda: internal)
    if listens is not None:
        options["server.address"] = listens
    assert address.network_address() == expected


# --- on the page ------------------------------------------------------------------------------


def open_page(url: str, params: dict | None = None, **state) -> AppTest:
    """The page opened at `url`, its expanders in `state` open."""
    at = AppTest.from_file("../../app.py", default_timeout=TIMEOUT)
    at.context = {"url": url}
    for key, value in (params or {}).items():
        at.query_params[key] = value
    at.run()
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def expander(at: AppTest, label: str):
    return next(e for e in at.expander if e.label == label)


def links_of(at: AppTest) -> tuple[str, list[str], str]:
    """The share link, the lesson links (as written) and the link with hidden controls."""
    lessons_box = expander(at, "Lessons for teachers")
    written = re.findall(r"`([^`]*\?lesson=\w+)`", lessons_box.markdown[1].value)
    [hiding] = [c.value for c in lessons_box.code]
    [share] = [c.value for c in expander(at, "Downloads and the share link").code]
    return share, written, hiding


def notes_of(at: AppTest) -> list[str]:
    """The captions of the lessons and share expanders that say which address links use."""
    boxes = (expander(at, "Lessons for teachers"), expander(at, "Downloads and the share link"))
    notes = ("Links use", ONLY_HERE)
    return [c.value for box in boxes for c in box.caption if c.value.startswith(notes)]


def test_share_and_lesson_links_on_localhost_use_the_network_address(monkeypatch):
    monkeypatch.setattr(net_util, "get_internal_ip", lambda: NETWORK)
    at = open_page("http://localhost:8501/", share=True, lessons=True, hide_picker=["seed"])
    assert not at.exception
    share, written, hiding = links_of(at)
    here = f"http://{NETWORK}:8501"  # AppTest's Streamlit listens on port 8501
    assert share == here + "?" + urllib.parse.urlencode(cfg.to_params(cfg.DEFAULTS))
    assert written == [f"{here}?lesson={name}" for name in lessons.LESSONS]
    assert hiding.startswith(here + "?") and "hide=seed" in hiding
    assert notes_of(at) == [NETWORK_NOTE] * 2  # one line in each expander


def test_without_a_network_address_the_links_say_they_work_only_here(monkeypatch):
    monkeypatch.setattr(net_util, "get_internal_ip", lambda: "127.0.0.1")
    at = open_page("http://localhost:8501/", share=True, lessons=True)
    share, written, _ = links_of(at)
    assert share.startswith("http://localhost:8501?") and written[0].startswith("http://localhost")
    notes = notes_of(at)
    assert len(notes) == 2 and all(note.startswith(ONLY_HERE) for note in notes)


def test_a_page_at_a_real_address_links_to_it_and_adds_no_line():
    at = open_page("http://lr.example.org:8501/", share=True, lessons=True)
    share, written, _ = links_of(at)
    assert share.startswith("http://lr.example.org:8501?")
    assert written[0] == "http://lr.example.org:8501?lesson=blog"
    assert notes_of(at) == []


def svg_of(at: AppTest) -> str:
    """The SVG markup of the one image on the page (st.image sends it as a data URI)."""
    [image] = at.image
    [data] = image.value
    prefix = "data:image/svg+xml;base64,"
    assert data.startswith(prefix)
    return base64.b64decode(data[len(prefix) :]).decode()


def test_the_qr_code_is_drawn_only_when_asked_and_is_the_share_links(monkeypatch):
    monkeypatch.setattr(net_util, "get_internal_ip", lambda: NETWORK)
    at = open_page("http://localhost:8501/", share=True)
    assert not at.image  # nothing drawn until asked
    at.toggle(key="share_qr").set_value(True).run()
    assert not at.exception
    [share] = [c.value for c in expander(at, "Downloads and the share link").code]
    assert share.startswith(f"http://{NETWORK}:8501?")
    # The same link encoded by segno, apart from the page: the same dark modules. (That the
    # symbol reads back as the link is checked by a decoder in tests/browser/test_browser_links.py.)
    assert modules(svg_of(at)) == modules(segno.make(share, micro=False).svg_inline())


def modules(svg: str) -> str:
    """The dark modules of a segno SVG (its qrline path), whatever its scale and colours."""
    return re.search(r'class="qrline"[^>]* d="([^"]+)"', svg).group(1)


def test_a_link_too_long_for_a_qr_code_says_so():
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 100, MAX_LINK_POINTS), rng.normal(0, 1, MAX_LINK_POINTS)
    params = {"dataset": "upload", "points": encode_points(x, y)}
    at = open_page("http://lr.example.org/", params, share=True)
    at.toggle(key="share_qr").set_value(True).run()
    assert not at.exception and not at.image
    [info] = [i.value for i in at.info if "QR code" in i.value]
    share = next(c.value for c in at.code if "points=" in c.value)
    assert info == (
        f"This link is too long for a QR code ({len(share):,} characters): share it as text."
    )
