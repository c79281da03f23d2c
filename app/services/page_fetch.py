"""The locked-down fetcher behind "Fill from URL": public web pages only, small and quick.

An editor's URL is fetched by the server, so the URL must not reach anything the server can
reach and the public cannot: every host is resolved first and each address checked (loopback,
private, link-local, multicast, reserved and unspecified ranges are refused, IPv4 inside IPv6
included), on every redirect hop, and the connection goes to the very address that was checked
(no second lookup a rebinding DNS server could answer differently), with the Host header and
TLS server name of the URL. At most 3 redirects, 5 seconds in all, 2 MB of body (reading stops
there), no cookies, no proxies, no compression, and a user agent that says who is asking.

The standard library's http.client is used rather than a client library: it lets the
connection be pinned to the checked address while the request keeps its host name, which is
the whole point, and it keeps no cookies and reads no proxy settings of its own.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from http import HTTPStatus
from urllib.parse import quote, urljoin, urlsplit

from app import __version__
from app.config import get_settings
from app.services.errors import PageNotFetched

USER_AGENT = f"peacetalks/{__version__} (+source metadata fetcher)"
TIMEOUT_SECONDS = 5.0
MAX_BYTES = 2 * 1024 * 1024
MAX_REDIRECTS = 3
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
CHUNK = 64 * 1024

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

LOOPBACK: tuple[IPNetwork, ...] = (
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
)
"""What FETCH_ALLOW_LOOPBACK lets through (tests serve their fixture pages there)."""
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: private in all but name
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # IPv4 addresses reached through a NAT64 gateway
_SAFE_PATH = "/%:@!$&'()*+,;=-._~"
_SAFE_QUERY = _SAFE_PATH + "?"


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """What one fetch may do; the defaults are the app's, tests shorten the timeout."""

    timeout: float = TIMEOUT_SECONDS
    max_bytes: int = MAX_BYTES
    max_redirects: int = MAX_REDIRECTS
    allowed: tuple[IPNetwork, ...] = ()
    """Networks let through although they are not public (only ever LOOPBACK, for tests)."""


def configured_limits() -> FetchLimits:
    """The app's limits: the defaults, plus loopback when FETCH_ALLOW_LOOPBACK says so."""
    return FetchLimits(allowed=LOOPBACK if get_settings().fetch_allow_loopback else ())


@dataclass(frozen=True, slots=True)
class FetchedPage:
    """A fetched HTML page: where it ended up after redirects, its charset and its bytes."""

    url: str
    content_type: str
    charset: str | None
    body: bytes


@dataclass(frozen=True, slots=True)
class _Target:
    scheme: str
    host: str
    port: int
    path: str


def fetch_page(url: str, *, limits: FetchLimits | None = None) -> FetchedPage:
    """GET a public HTML page within the limits, or PageNotFetched saying why not."""
    limits = limits or configured_limits()
    deadline = time.monotonic() + limits.timeout
    current = url.strip()
    for hop in range(limits.max_redirects + 1):
        try:
            target = _target(current)
            addresses = _resolve(target.host, target.port, limits, deadline)
        except PageNotFetched as refused:
            if hop == 0:
                raise
            reason = refused.message[0].lower() + refused.message[1:]
            raise PageNotFetched(
                f"The page redirected to {_shorten(current)}, and {reason}"
            ) from None
        connection, response, sock = _request(target, addresses, limits, deadline)
        try:
            if response.status in REDIRECT_STATUSES:
                location = (response.getheader("Location") or "").strip()
                if not location:
                    raise PageNotFetched("The page redirected without saying where to.")
                current = urljoin(current, location)
                continue
            return _read_page(current, response, sock, limits, deadline)
        finally:
            response.close()
            connection.close()
    raise PageNotFetched(f"The page redirected more than {limits.max_redirects} times.")


def address_refusal(address: IPAddress, allowed: tuple[IPNetwork, ...] = ()) -> str | None:
    """Why `address` may not be fetched from ("on a private network", ...), None if public."""
    if any(address.version == net.version and address in net for net in allowed):
        return None
    inner = _embedded_ipv4(address)
    if inner is not None:
        return address_refusal(inner, allowed)
    if address.is_unspecified:
        return "unspecified (no address at all)"
    if address.is_loopback:
        return "this server itself (loopback)"
    if address.is_link_local:
        return "link-local (on the server's own network segment)"
    if address.is_multicast:
        return "a multicast address"
    if address.is_reserved:
        return "reserved, not a public address"
    if address.is_private or address in _SHARED or not address.is_global:
        return "on a private network"
    return None


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, NAT64), which is what it reaches."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _target(url: str) -> _Target:
    """The URL's scheme, host, port and request path, or PageNotFetched for one not to fetch."""
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise PageNotFetched("That address contains spaces or control characters.")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"}:
        got = f"{scheme}:" if scheme else "no scheme"
        raise PageNotFetched(f"Only http:// and https:// addresses can be fetched (got {got}).")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise PageNotFetched("That address has an invalid port.") from None
    if not host:
        raise PageNotFetched("That address has no host name.")
    if parts.username is not None or parts.password is not None:
        raise PageNotFetched("An address with a user name or password in it is not fetched.")
    if not _is_ip(host):
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise PageNotFetched(f"{host} is not a valid host name.") from None
    path = quote(parts.path or "/", safe=_SAFE_PATH)
    if parts.query:
        path += "?" + quote(parts.query, safe=_SAFE_QUERY)
    return _Target(scheme, host, port or (443 if scheme == "https" else 80), path)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _remaining(deadline: float, limits: FetchLimits) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise _too_slow(limits)
    return left


def _too_slow(limits: FetchLimits) -> PageNotFetched:
    return PageNotFetched(f"The page took longer than {limits.timeout:g} seconds.")


def _resolve(host: str, port: int, limits: FetchLimits, deadline: float) -> list[IPAddress]:
    """The host's addresses, every one of them allowed; PageNotFetched names the first that is not."""
    if _is_ip(host):
        address = ipaddress.ip_address(host)
        problem = address_refusal(address, limits.allowed)
        if problem:
            raise PageNotFetched(
                f"That address is {problem}; only public web pages can be fetched."
            )
        return [address]
    addresses = _lookup(host, port, limits, deadline)
    for address in addresses:
        problem = address_refusal(address, limits.allowed)
        if problem:
            raise PageNotFetched(
                f"{host} points to {address}, which is {problem}; "
                "only public web pages can be fetched."
            )
    return addresses


def _lookup(host: str, port: int, limits: FetchLimits, deadline: float) -> list[IPAddress]:
    # getaddrinfo cannot be given a timeout: it runs in a thread of its own that is abandoned
    # (it ends when the resolver gives up) if it outlasts the fetch's time.
    found: list[IPAddress] = []
    failed: list[OSError] = []

    def lookup() -> None:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            failed.append(exc)
            return
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]))
            if address not in found:
                found.append(address)

    thread = threading.Thread(target=lookup, name="page-fetch-lookup", daemon=True)
    thread.start()
    thread.join(_remaining(deadline, limits))
    if thread.is_alive():
        raise _too_slow(limits)
    if failed or not found:
        raise PageNotFetched(f"The host {host} could not be found.")
    return found


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP connection to one checked address; Host header from the URL's host name."""

    def __init__(self, target: _Target, address: IPAddress, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((str(self.address), self.port), self.timeout)


class _PinnedTLSConnection(_PinnedConnection):
    """The same over TLS, verifying the certificate for the URL's host name (and SNI with it)."""

    def connect(self) -> None:
        super().connect()
        self.sock = _tls_context().wrap_socket(self.sock, server_hostname=self.host)


@lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


def _request(
    target: _Target, addresses: list[IPAddress], limits: FetchLimits, deadline: float
) -> tuple[_PinnedConnection, http.client.HTTPResponse, socket.socket]:
    """Connect to the first address that answers and send the GET; the response's headers read,
    and the socket its body is read from (the connection lets go of it once the response has
    it)."""
    kind = _PinnedTLSConnection if target.scheme == "https" else _PinnedConnection
    failure: OSError | None = None
    for address in addresses:
        connection = kind(target, address, _remaining(deadline, limits))
        try:
            connection.connect()
        except TimeoutError:
            connection.close()
            raise _too_slow(limits) from None
        except ssl.SSLError as exc:
            connection.close()
            raise PageNotFetched(
                f"The secure connection to {target.host} failed ({exc.reason or exc})."
            ) from None
        except OSError as exc:
            connection.close()
            failure = exc
            continue
        break
    else:
        reason = failure.strerror if failure is not None and failure.strerror else "no answer"
        raise PageNotFetched(f"Could not connect to {target.host} ({reason}).")
    sock = connection.sock
    try:
        connection.putrequest("GET", target.path, skip_accept_encoding=True)
        connection.putheader("User-Agent", USER_AGENT)
        connection.putheader("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1")
        connection.putheader("Accept-Encoding", "identity")
        connection.putheader("Connection", "close")
        connection.endheaders()
        sock.settimeout(_remaining(deadline, limits))
        return connection, connection.getresponse(), sock
    except TimeoutError:
        connection.close()
        raise _too_slow(limits) from None
    except (http.client.HTTPException, OSError) as exc:
        connection.close()
        raise PageNotFetched(f"{target.host} did not answer like a web server ({exc}).") from None


def _read_page(
    url: str,
    response: http.client.HTTPResponse,
    sock: socket.socket,
    limits: FetchLimits,
    deadline: float,
) -> FetchedPage:
    """The response's body, when it is an HTML page within the size and time limits."""
    if not 200 <= response.status < 300:
        try:
            phrase = HTTPStatus(response.status).phrase
        except ValueError:
            phrase = "an unknown status"
        raise PageNotFetched(f"The page answered {response.status} {phrase}.")
    if not response.getheader("Content-Type"):
        raise PageNotFetched("That is not a web page (it did not say what it is).")
    content_type = response.headers.get_content_type()
    if content_type not in HTML_TYPES:
        raise PageNotFetched(f"That is not a web page (got {_shorten(content_type, 80)}).")
    too_large = PageNotFetched(f"The page is larger than {limits.max_bytes / 1048576:g} MB.")
    declared = (response.getheader("Content-Length") or "").strip()
    if declared.isdigit() and int(declared) > limits.max_bytes:
        raise too_large
    body = bytearray()
    try:
        while True:
            # Each read may take what is left of the time, and no more.
            sock.settimeout(_remaining(deadline, limits))
            chunk = response.read1(CHUNK)
            if not chunk:
                break
            body += chunk
            if len(body) > limits.max_bytes:
                raise too_large
            _remaining(deadline, limits)
    except TimeoutError:
        raise _too_slow(limits) from None
    except (http.client.HTTPException, OSError) as exc:
        raise PageNotFetched(f"The page broke off while it was being read ({exc}).") from None
    return FetchedPage(
        url=url,
        content_type=content_type,
        charset=response.headers.get_content_charset(),
        body=bytes(body),
    )


def _shorten(text: str, limit: int = 120) -> str:
    """`text` (a URL or content type a site sent) fit to show: printable and at most `limit`."""
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
