"""Who is calling from where, for rate limits that must hold behind an ingress."""

import ipaddress


def client_address(remote: str | None, forwarded_for: str | None, trusted_proxies: int) -> str:
    """The caller's address: behind ``trusted_proxies`` reverse proxies (an ingress), the one
    they appended to X-Forwarded-For, not theirs; anything further left is the client's own
    claim and not trusted. IPv6 counts per /64, which one subscriber usually holds."""
    address = remote or "unknown"
    hops = [hop.strip() for hop in (forwarded_for or "").split(",") if hop.strip()]
    if trusted_proxies > 0 and hops:
        address = hops[-min(trusted_proxies, len(hops))]
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)
