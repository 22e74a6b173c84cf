"""Hostile HTTP over a raw socket: a request head that declares a huge body, or a chunked body streamed until
the server answers, to see that a service refuses it without reading it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

CHUNK = b"x" * 65_536


@dataclass
class Exchange:
    status: int
    body_bytes_sent: int
    seconds: float


def chunks(total_bytes: int) -> Iterator[bytes]:
    """``total_bytes`` of body in chunked transfer encoding, 64 KiB a chunk (generated, never held at once)."""
    sent = 0
    while sent < total_bytes:
        yield b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK)
        sent += len(CHUNK)
    yield b"0\r\n\r\n"


async def exchange(base_url: str, method: str, path: str, headers: dict[str, str], *,
                   body: Iterator[bytes] = iter(()), timeout: float = 10.0) -> Exchange:
    """Send the head, then body pieces until the server answers; the answer's status and how much was sent."""
    url = urlsplit(base_url)
    loop = asyncio.get_running_loop()
    started = loop.time()
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    head = f"{method} {path} HTTP/1.1\r\nHost: {url.netloc}\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    sent = 0
    try:
        writer.write(head.encode("latin-1"))
        await writer.drain()
        status_line = asyncio.create_task(reader.readline())
        pause = 0.2  # a service that answers from the head alone has answered by then, on a busy machine too
        for piece in body:
            await asyncio.wait({status_line}, timeout=pause)
            pause = 0.005
            if status_line.done():
                break
            try:
                writer.write(piece)
                await writer.drain()
            except ConnectionError:
                break
            sent += len(piece)
        line = await asyncio.wait_for(status_line, timeout=timeout)
        return Exchange(status=int(line.split()[1]), body_bytes_sent=sent, seconds=loop.time() - started)
    finally:
        writer.close()
