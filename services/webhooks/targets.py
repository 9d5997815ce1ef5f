"""Which endpoints may be called: a tenant must not make the service POST into its own network
(Redis, Kafka, cloud metadata) unless the operator allows private addresses."""

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

LOCAL_NAMES = {"localhost", "localhost.localdomain"}


def _private(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return not ip.is_global


def literal_refusal(url: str) -> str | None:
    """Why `url` is refused by its host alone (an IP literal or localhost), or None."""
    host = (urlsplit(url).hostname or "").lower()
    if host in LOCAL_NAMES or host.endswith(".localhost"):
        return "a local host name"
    try:
        return "a private address" if _private(host) else None
    except ValueError:
        return None  # a name: checked when it is resolved, at each attempt


async def resolved_refusal(url: str) -> str | None:
    """Why `url` is refused once its host is resolved, or None; a failed lookup is left to the
    POST, which reports it as an ordinary (retried) failure."""
    if reason := literal_refusal(url):
        return reason
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return None
    if any(_private(str(info[4][0])) for info in found):
        return f"{host} resolves to a private address"
    return None
