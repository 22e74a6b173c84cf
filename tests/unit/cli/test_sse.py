"""The event-stream decoder: events at blank lines, comments ignored, the last id kept for a reconnect."""

from __future__ import annotations

from leadrouter_cli.sse import ServerEvent, SseDecoder


def _feed(decoder: SseDecoder, text: str) -> list[ServerEvent]:
    return [e for line in text.split("\n") if (e := decoder.feed(line)) is not None]


def test_events_end_at_a_blank_line_and_keepalives_are_ignored() -> None:
    decoder = SseDecoder()
    events = _feed(decoder, ': keepalive\n\nid: 7\nevent: sla.breached\ndata: {"a":\ndata: 1}\n\n'
                            "data: plain\n\n")
    assert events == [ServerEvent("sla.breached", '{"a":\n1}', "7"), ServerEvent("message", "plain", "7")]
    assert decoder.last_event_id == "7"


def test_retry_advice_is_kept_and_an_event_without_data_is_no_event() -> None:
    decoder = SseDecoder(last_event_id="3")
    assert _feed(decoder, "retry: 2500\nevent: x\n\nretry: soon\n") == []
    assert decoder.retry_ms == 2500 and decoder.last_event_id == "3"
    assert _feed(decoder, "id:9\ndata:x\n\n") == [ServerEvent("message", "x", "9")]
