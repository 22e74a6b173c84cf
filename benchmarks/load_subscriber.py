"""A webhook subscriber in a process of its own: answers every delivery 204 at once and notes when it arrived.

``POST /`` takes a delivery (a CloudEvent: ``subject`` is the lead id, ``data.due_at`` its deadline) and keeps
``[arrived, event type, due_at]`` per lead, first arrival only (a retry is counted in ``repeats``).
``GET /_arrivals`` returns them. A bare ASGI app under uvicorn, so the receiver costs as little as possible.

``python -m benchmarks.load_subscriber PORT``
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from typing import Any

Scope = dict[str, Any]

arrivals: dict[str, list[Any]] = {}
repeats = 0


async def app(scope: Scope, receive: Any, send: Any) -> None:
    global repeats
    if scope["type"] == "lifespan":
        while (message := await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["type"] != "http":
        return
    arrived = time.time()
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    if scope["method"] == "GET":
        payload = json.dumps({"arrivals": arrivals, "repeats": repeats}).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": payload})
        return
    # A body that is not a CloudEvent is answered and not counted: the bench then reports its alert as missing.
    with contextlib.suppress(ValueError, KeyError, TypeError):
        event = json.loads(body)
        lead_id = str(event["subject"])
        if lead_id in arrivals:
            repeats += 1
        else:
            arrivals[lead_id] = [arrived, event.get("type"), (event.get("data") or {}).get("due_at")]
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def main(port: int) -> None:
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="off")


if __name__ == "__main__":
    main(int(sys.argv[1]))
