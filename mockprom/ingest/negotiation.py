"""Remote write content negotiation, as Prometheus 3.5's write handler reads the request
headers (``storage/remote/write_handler.go``): the protobuf message from ``Content-Type``
(``application/x-protobuf[;proto=<message>]``, default ``prometheus.WriteRequest``), and
``Content-Encoding`` (``snappy`` or none). Each refusal is a 415 with Prometheus's words.
"""

from __future__ import annotations

from typing import Optional

from mockprom.ingest.errors import IngestError

V1_MESSAGE = "prometheus.WriteRequest"
V2_MESSAGE = "io.prometheus.write.v2.Request"
MESSAGES = (V1_MESSAGE, V2_MESSAGE)
PROTOBUF = "application/x-protobuf"
V2_CONTENT_TYPE = f"{PROTOBUF};proto={V2_MESSAGE}"


def message_type(content_type: str) -> str:
    """The protobuf message a ``Content-Type`` names. Raises IngestError (415)."""
    content_type = content_type.strip() or PROTOBUF  # no header: a "yolo" 1.0 client
    parts = content_type.split(";")
    if parts[0] != PROTOBUF:
        raise IngestError(f"expected {PROTOBUF} as the first (media) part, got {content_type} "
                          f"content-type", 415)
    for p in parts[1:]:
        pair = p.split("=")
        if len(pair) != 2:
            raise IngestError(f"as per https://www.rfc-editor.org/rfc/rfc9110#parameter expected "
                              f"parameters to be key-values, got {p} in {content_type} "
                              f"content-type", 415)
        if pair[0] == "proto":
            if pair[1] not in MESSAGES:
                raise IngestError(f"got {content_type} content type; unknown remote write "
                                  f"protobuf message {pair[1]}, supported: "
                                  f"{', '.join(MESSAGES)}", 415)
            return pair[1]
    return V1_MESSAGE


def refusals(content_type: str, encoding: str, accepted) -> tuple[Optional[str], Optional[str]]:
    """``(message, refusal)``: the message to decode and the 415 text Prometheus 3.5
    answers, if any. A bad ``Content-Type`` gives no message (nothing is decoded); a
    message the server does not accept, or an encoding other than snappy, is refused
    with 415 *and still decoded and written*, as 3.5.3's handler does (it does not return
    after those two answers)."""
    try:
        msg = message_type(content_type)
    except IngestError as err:
        return None, err.message
    texts = []
    if msg not in accepted:
        texts.append(f"{msg} protobuf message is not accepted by this server; accepted "
                     f"[{' '.join(accepted)}]")
    if encoding and encoding.lower() != "snappy":
        texts.append(f"{encoding} encoding (compression) is not accepted by this server; "
                     f"only snappy is acceptable")
    return msg, "\n".join(texts) or None
