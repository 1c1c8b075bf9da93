"""Values of config-only instructions, checked as BuildKit checks them before they reach the image.

``EXPOSE`` takes BuildKit's port specs (dockerfile2llb/convert_expose.go ``parsePort``:
``[[ip:]hostPort:]port[-end][/proto]``, ports 0-65535, protocols tcp/udp/sctp; a range becomes
one entry per port, host parts are dropped). ``STOPSIGNAL`` takes what moby/sys/signal
``ParseSignal`` takes: a non-zero number, or a Linux signal name with or without ``SIG``.
``ADD --checksum`` is a digest as opencontainers/go-digest ``Parse`` reads it.
"""

from __future__ import annotations

import ipaddress
import re

_PROTOCOLS = ("tcp", "udp", "sctp")
_SIGNALS = frozenset(
    [
        "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT", "KILL", "PIPE",
        "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM", "TRAP", "TSTP", "TTIN", "TTOU",
        "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ", "RTMIN", "RTMAX",
    ]
    + [f"RTMIN+{i}" for i in range(1, 16)] + [f"RTMAX-{i}" for i in range(1, 15)]
)


class InvalidValue(ValueError):
    """The message is BuildKit's wording."""


def _go_int(text: str) -> int:
    """strconv.ParseInt(text, 10, 0): an optional sign and decimal digits only."""
    digits = text[1:] if text[:1] in "+-" else text
    if not digits.isdigit() or not digits.isascii():
        raise InvalidValue(f'strconv.ParseInt: parsing "{text}": invalid syntax')
    return int(text)


def _port_number(text: str) -> int:
    if not text:
        raise InvalidValue("value is empty")
    port = _go_int(text)
    if port < 0 or port > 65535:
        raise InvalidValue("value out of range (0–65535)")
    return port


def _port_range(text: str) -> tuple[int, int]:
    if not text:
        raise InvalidValue("empty string specified for ports")
    start, dash, end = text.partition("-")
    first = _port_number(start)
    if not dash or start == end:
        return first, first
    last = _port_number(end)
    if last < first:
        raise InvalidValue(f"invalid port range: {text}")
    return first, last


def expose_ports(spec: str) -> list[str]:
    """``port/proto`` entries for one EXPOSE word; raises :class:`InvalidValue` as BuildKit errs."""
    parts = spec.split(":")
    ip, host, container = (":".join(parts[:-2]), parts[-2], parts[-1]) if len(parts) > 2 else \
        ("", parts[0], parts[1]) if len(parts) == 2 else ("", "", parts[0])
    port, _, proto = container.partition("/")
    if not port:
        raise InvalidValue(f'invalid port: "{spec}": no port specified')
    if proto.lower() not in ("", *_PROTOCOLS):
        raise InvalidValue(f'invalid port: "{spec}": invalid proto: {proto}')
    address = ip[1:-1] if ip.startswith("[") and ip.endswith("]") else ip
    if address:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise InvalidValue(f"invalid IP address: {ip}") from None
    try:
        first, last = _port_range(port)
    except InvalidValue:
        raise InvalidValue(f"invalid containerPort: {port}") from None
    if host:
        try:
            host_first, host_last = _port_range(host)
        except InvalidValue:
            raise InvalidValue(f"invalid hostPort: {host}") from None
        if last - first != host_last - host_first and last != first:
            raise InvalidValue(f"invalid ranges specified for container and host Ports: {port} and {host}")
    return [f"{n}/{(proto or 'tcp').lower()}" for n in range(first, last + 1)]


def stop_signal(text: str) -> str:
    """``text`` when it names a signal; raises :class:`InvalidValue` ("invalid signal: ...")."""
    try:
        number: int | None = _go_int(text)
    except InvalidValue:
        number = None
    if number == 0 or (number is None and text.upper().removeprefix("SIG") not in _SIGNALS):
        raise InvalidValue(f"invalid signal: {text}")
    return text


_DIGEST_HEX = {"sha256": 64, "sha384": 96, "sha512": 128}
_ALGORITHM = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*$")


def checksum_digest(text: str) -> str:
    """``text`` when it is a digest; raises :class:`InvalidValue` with go-digest's messages."""
    algorithm, colon, encoded = text.partition(":")
    if not colon or not algorithm or not encoded:
        raise InvalidValue("invalid checksum digest format")
    if algorithm not in _DIGEST_HEX:
        raise InvalidValue("unsupported digest algorithm" if _ALGORITHM.match(algorithm)
                           else "invalid checksum digest format")
    if len(encoded) != _DIGEST_HEX[algorithm]:
        raise InvalidValue("invalid checksum digest length")
    if not re.fullmatch(r"[a-f0-9]+", encoded):
        raise InvalidValue("invalid checksum digest format")
    return text
