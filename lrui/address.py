"""Links students can open: the address other computers reach this page at, and a QR code.

A teacher who browses the page on `localhost` (or 127.0.0.1) would hand out links that open
the students' own computers. The links the page builds (share, lessons) use instead the address
Streamlit prints as its Network URL when it starts: `browser.serverAddress` where the teacher
set it, else the address the server listens on (`server.address`) or this computer's network
address (`net_util.get_internal_ip`), on Streamlit's port (`browser.serverPort`, by default
`server.port`). The page's scheme and path (a base URL path) are kept.
"""

from __future__ import annotations

import contextlib
import ipaddress
import urllib.parse

import segno
import streamlit as st
from streamlit import config, net_util

WILDCARDS = ("0.0.0.0", "::")  # server.address values that listen on every address
DEFAULT_PORTS = {"http": 80, "https": 443}


def reachable_base() -> tuple[str, str | None]:
    """The base URL of this page's links (its address without the query) as other computers
    reach it, and one line that says which address the links use (None: the page's own)."""
    server = config.get_option("browser.serverAddress")
    return reachable(
        (st.context.url or "").split("?")[0],
        server if config.is_manually_set("browser.serverAddress") else None,
        network_address(),
        int(config.get_option("browser.serverPort")),
    )


def reachable(
    page: str, server_address: str | None, network: str | None, port: int
) -> tuple[str, str | None]:
    """`page` (a URL without query) as other computers reach it, and a line that says so.

    Only a page opened at this computer's own name (localhost, 127.0.0.1, ::1) changes: its host
    becomes `server_address` (browser.serverAddress: a name or IP, maybe with a scheme and a
    path) or else `network` (this computer's network address), on `port`. With neither, the
    links stay as they are and the line says that they work only on this computer."""
    url = urllib.parse.urlsplit(page)
    if not _this_computer(url.hostname):
        return page, None
    given = _as_url(server_address) if server_address else None
    if given and given.hostname:
        scheme = given.scheme or url.scheme
        base = url._replace(
            scheme=scheme, netloc=_netloc(given.hostname, port, scheme), path=given.path or url.path
        )
        note = f"Links use the server address set in browser.serverAddress ({given.hostname})."
        return base.geturl(), note
    if network:
        base = url._replace(netloc=_netloc(network, port, url.scheme))
        note = (
            f"Links use this computer's network address {network} so students can open them; "
            "students must be on the same network."
        )
        return base.geturl(), note
    note = (
        "These links work only on this computer: the server has no address other computers "
        "can reach (set browser.serverAddress to one students can open)."
    )
    return page, note


def network_address() -> str | None:
    """The address other computers reach this server at, as Streamlit finds its Network URL:
    the address it listens on when one is set, else this computer's network address; None
    when that is this computer's own (the server listens only to it) or a Unix socket."""
    listens = config.get_option("server.address")
    if config.is_manually_set("server.address") and listens not in WILDCARDS:
        address = listens
    else:
        address = net_util.get_internal_ip()
    if not address or address.startswith("unix://") or _this_computer(address):
        return None
    return address


def qr_svg(link: str) -> str:
    """`link` as a QR code (SVG, black on white with its quiet zone, 8 pixels a module: large
    enough to project). Raises segno.DataOverflowError for a link too long for any QR code."""
    return segno.make(link, micro=False).svg_inline(scale=8, dark="black", light="white")


def qr_ui(link: str, key: str) -> None:
    """A toggle that shows `link` as a QR code (built only when shown)."""
    if not st.toggle("Show as a QR code", key=key, help="To project for a class to scan"):
        return
    try:
        svg = qr_svg(link)
    except segno.DataOverflowError:
        st.info(
            f"This link is too long for a QR code ({len(link):,} characters): share it as text."
        )
        return
    st.image(svg, alt="QR code of the link above")


def _as_url(address: str) -> urllib.parse.SplitResult:
    """browser.serverAddress as a URL: a name or an IP address, maybe with a scheme and a path."""
    with contextlib.suppress(ValueError):
        address = f"[{ipaddress.IPv6Address(address)}]"  # a bare IPv6 address
    return urllib.parse.urlsplit(address if "://" in address else "//" + address)


def _this_computer(host: str | None) -> bool:
    """Whether `host` names only the computer it is used on (loopback, or 0.0.0.0)."""
    if not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def _netloc(host: str | None, port: int, scheme: str) -> str:
    """host:port for a URL (an IPv6 address in brackets, the scheme's own port left out)."""
    host = f"[{host}]" if host and ":" in host else host or ""
    return host if DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
