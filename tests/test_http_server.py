"""The HTTP layer as a client sees it on the wire: keep-alive, no ``Server`` header, Go's
status texts, compression, the request-size limit, idle timeout, the connection cap, and a
clean stop. Where the behaviour is Prometheus's, the same requests go to a real Prometheus
2.42 and 3.5.3 and the answers are compared."""

from __future__ import annotations

import gzip
import http.client
import json
import socket
import threading
import time
import zlib

import pytest
import requests

from mockprom.server import MockPrometheus
from mockprom.serving import ServerOptions
from realprom import RealPrometheus, require_binaries

VERSIONS = {"2.42": "2.42.0", "3.5": "3.5.3"}

ACCEPT = ["gzip", "deflate", "gzip, deflate", "deflate, gzip", "gzip;q=0", "GZIP", "x-gzip",
          "br", "*", "identity", "gzip;q=0.5, identity", "br;q=1, gzip;q=0.5"]
PATHS = ["/api/v1/query?query=up", "/api/v1/query?query=", "/api/v1/labels",
         "/api/v1/status/buildinfo", "/api/v1/nonexistent", "/federate?match[]=up",
         "/metrics", "/-/healthy", "/-/ready"]


@pytest.fixture(scope="module", params=sorted(VERSIONS))
def pair(request):
    """A real Prometheus of one release line and mockprom emulating it, both empty."""
    line = request.param
    require_binaries(line)
    with RealPrometheus(line=line) as real, \
            MockPrometheus({"series": [], "server": {"admin_api": True}},
                           version=VERSIONS[line]) as mock:
        yield real.url, mock.url


@pytest.fixture(scope="module")
def prom():
    with MockPrometheus({"series": [{"labels": {"__name__": "up", "job": "a"},
                                     "samples": [[0, 1]]}]}) as p:
        yield p


def raw_exchange(url: str, request: bytes, limit: int = 4096) -> bytes:
    """Send raw bytes, read until the server closes (or ``limit`` bytes)."""
    host, port = url.rsplit("/", 1)[-1].rsplit(":", 1)
    data = b""
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        try:
            sock.sendall(request)
        except OSError:
            pass
        try:
            while len(data) < limit:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass
    return data


WIRE_HEADERS = (b"connection:", b"content-encoding:", b"content-type:", b"transfer-encoding:",
                b"server:")


def head_lines(data: bytes) -> list[bytes]:
    """The status line and the header lines of the HTTP layer (not Date, Content-Length,
    nor the API's own headers such as CORS)."""
    head = data.partition(b"\r\n\r\n")[0].split(b"\r\n")
    return [head[0]] + sorted(h for h in head[1:] if h.lower().startswith(WIRE_HEADERS))


def read_answer(sock: socket.socket) -> bytes:
    """One whole answer with a Content-Length, from a kept-alive connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int([h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:")][0]
                 .split(b":")[1])
    while len(body) < length:
        body += sock.recv(4096)
    return head + b"\r\n\r\n" + body


# --- compared with a real Prometheus ------------------------------------------------------

def test_content_encoding_is_chosen_as_prometheus_chooses_it(pair):
    real, mock = pair
    diffs = []
    for path in PATHS:
        for accept in ACCEPT:
            got = [requests.get(base + path, headers={"Accept-Encoding": accept}, timeout=10)
                   for base in (real, mock)]
            want_enc, mock_enc = (r.headers.get("Content-Encoding") for r in got)
            if want_enc != mock_enc or got[0].status_code != got[1].status_code:
                diffs.append(f"{path} Accept-Encoding {accept!r}: real {got[0].status_code} "
                             f"{want_enc}, mockprom {got[1].status_code} {mock_enc}")
    assert not diffs, "\n".join(diffs)


def test_compressed_bodies_decode_to_the_plain_answer(prom):
    for path in ("/api/v1/query?query=up", "/api/v1/labels", "/federate?match[]=up"):
        plain = requests.get(prom.url + path, headers={"Accept-Encoding": "identity"}, timeout=10)
        for accept, decode in (("gzip", gzip.decompress), ("deflate", zlib.decompress)):
            r = requests.get(prom.url + path, headers={"Accept-Encoding": accept}, stream=True,
                             timeout=10)
            raw = r.raw.read(decode_content=False)
            assert r.headers["Content-Encoding"] == accept
            assert int(r.headers["Content-Length"]) == len(raw)
            body = decode(raw)
            if path.startswith("/api/"):
                assert json.loads(body) == json.loads(plain.content)
            else:
                assert body == plain.content


def test_preflight_and_no_content_answers_match(pair):
    real, mock = pair
    for method, path in (("OPTIONS", "/api/v1/query"),
                         ("POST", "/api/v1/admin/tsdb/clean_tombstones")):
        req = (f"{method} {path} HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n"
               f"Content-Length: 0\r\nConnection: close\r\n\r\n").encode()
        want, got = (raw_exchange(base, req) for base in (real, mock))
        assert head_lines(got) == head_lines(want), (want, got)


@pytest.mark.parametrize("size", [70_000, 1_040_000])
def test_long_urls_under_go_header_limit_are_served(pair, size):
    real, mock = pair
    path = "/api/v1/query?query=up&pad=" + "a" * size
    for base in (real, mock):
        r = requests.get(base + path, timeout=30)
        assert r.status_code == 200 and r.json()["status"] == "success"


@pytest.mark.parametrize("where", ["url", "header"])
def test_over_the_header_limit_is_gos_bare_431(pair, where):
    real, mock = pair
    big = "b" * 1_100_000
    if where == "url":
        req = f"GET /api/v1/query?query=up&pad={big} HTTP/1.1\r\nHost: x\r\n\r\n"
    else:
        req = f"GET /api/v1/labels HTTP/1.1\r\nHost: x\r\nX-Pad: {big}\r\n\r\n"
    want = raw_exchange(real, req.encode())
    got = raw_exchange(mock, req.encode())
    assert want.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
    assert got == want


def test_a_malformed_request_is_gos_bare_400(pair):
    real, mock = pair
    req = b"GET /a b HTTP/1.1\r\nHost: x\r\n\r\n"
    want, got = raw_exchange(real, req), raw_exchange(mock, req)
    assert want.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert got == want


def test_status_lines_and_headers_match(pair):
    real, mock = pair
    for path in ("/api/v1/query?query=up", "/api/v1/query?query=sum(", "/nonexistent",
                 "/-/healthy"):
        req = f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
        want, got = raw_exchange(real, req), raw_exchange(mock, req)
        assert head_lines(got)[0] == head_lines(want)[0]
        names = {line.split(b":")[0].lower() for line in head_lines(got)[1:]}
        assert b"server" not in names and b"date" in got.lower()


# --- mockprom's own server ----------------------------------------------------------------

def test_no_server_header_and_go_status_text(prom):
    r = requests.options(prom.url + "/api/v1/query", timeout=10)
    assert r.status_code == 204 and r.raw.reason == "No Content"
    assert "Server" not in r.headers
    r = requests.get(prom.url + "/api/v1/query", params={"query": "sum("}, timeout=10)
    assert r.status_code == 400 and r.raw.reason == "Bad Request"
    assert "Server" not in r.headers


def test_connections_are_kept_alive_across_answers(prom):
    conn = http.client.HTTPConnection("127.0.0.1", prom.port, timeout=10)
    try:
        seen = set()
        for method, path in (("GET", "/api/v1/query?query=up"), ("OPTIONS", "/api/v1/query"),
                             ("GET", "/api/v1/query?query=sum("), ("GET", "/nonexistent"),
                             ("GET", "/-/healthy")):
            conn.request(method, path)
            r = conn.getresponse()
            r.read()
            assert r.getheader("Connection") is None, (method, path)
            seen.add(conn.sock.getsockname())
        assert len(seen) == 1, "every request went over the same connection"
    finally:
        conn.close()


def test_idle_connections_are_closed_after_the_idle_timeout():
    with MockPrometheus({"series": []}, options=ServerOptions(idle_timeout_s=1)) as p:
        with socket.create_connection(("127.0.0.1", p.port), timeout=10) as sock:
            sock.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_answer(sock).startswith(b"HTTP/1.1 200 OK")
            assert sock.recv(4096) == b"", "the idle connection is closed by the server"


def test_connections_over_the_cap_wait_to_be_accepted():
    with MockPrometheus({"series": []}, options=ServerOptions(max_connections=3)) as p:
        held = [socket.create_connection(("127.0.0.1", p.port), timeout=10) for _ in range(3)]
        try:
            for s in held:
                s.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
                assert read_answer(s).startswith(b"HTTP/1.1 200")
            extra = socket.create_connection(("127.0.0.1", p.port), timeout=10)
            extra.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
            extra.settimeout(0.5)
            with pytest.raises(socket.timeout):
                extra.recv(4096)
            held.pop().close()
            extra.settimeout(10)
            assert read_answer(extra).startswith(b"HTTP/1.1 200")
            extra.close()
        finally:
            for s in held:
                s.close()


def test_workers_are_a_bounded_pool_and_stop_releases_held_requests():
    p = MockPrometheus({"series": []}, options=ServerOptions(threads=2))
    p.add_fault({"match": {"endpoint": "query"}, "transport": "hang", "hang": "60s"})
    outcomes: list = []

    def held():
        try:
            requests.get(p.url + "/api/v1/query", params={"query": "up"}, timeout=30)
            outcomes.append("answered")
        except requests.ConnectionError:
            outcomes.append("dropped")

    clients = [threading.Thread(target=held) for _ in range(2)]
    for c in clients:
        c.start()
    deadline = time.monotonic() + 10
    while len(p.requests(endpoint="query")) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(p.requests(endpoint="query")) == 2
    with pytest.raises(requests.exceptions.ReadTimeout):  # both workers are held
        requests.get(p.url + "/-/healthy", timeout=0.5)
    idle = socket.create_connection(("127.0.0.1", p.port), timeout=10)
    p.stop()
    for c in clients:
        c.join(10)
    assert outcomes == ["dropped", "dropped"]
    assert idle.recv(10) == b"", "kept-alive connections are closed on stop"
    idle.close()
    with pytest.raises(requests.ConnectionError):
        requests.get(p.url + "/-/healthy", timeout=2)


def test_fault_transport_effects_through_the_server(prom):
    with prom.add_fault({"match": {"endpoint": "query"}, "transport": "reset", "times": 1}):
        with pytest.raises(requests.ConnectionError) as caught:
            requests.get(prom.url + "/api/v1/query", params={"query": "up"}, timeout=10)
        assert "reset" in repr(caught.value).lower()
    r = requests.get(prom.url + "/api/v1/query", params={"query": "up"}, timeout=10)
    assert r.status_code == 200


def test_shaped_fault_bodies_are_sent_uncompressed_and_notes_compressed(prom):
    plain = requests.get(prom.url + "/api/v1/query", params={"query": "up"},
                         headers={"Accept-Encoding": "identity"}, timeout=10).json()
    with prom.add_fault({"match": {"endpoint": "query"}, "dribble": {"chunks": 3, "over": "0.1s"}}):
        r = requests.get(prom.url + "/api/v1/query", params={"query": "up"},
                         headers={"Accept-Encoding": "gzip"}, stream=True, timeout=10)
        assert "Content-Encoding" not in r.headers
        assert json.loads(r.raw.read(decode_content=False)) == plain
    with prom.add_fault({"match": {"endpoint": "query"}, "warnings": ["store down"]}):
        r = requests.get(prom.url + "/api/v1/query", params={"query": "up"},
                         headers={"Accept-Encoding": "gzip"}, timeout=10)
        assert r.headers["Content-Encoding"] == "gzip"
        assert r.json()["warnings"] == ["store down"]
        assert r.json()["data"] == plain["data"]


def test_the_portable_poller_serves_as_epoll_does(monkeypatch):
    """Without epoll (macOS and others) one thread selects and hands ready connections to
    the workers: the same answers, keep-alive, idle close and stop."""
    import mockprom.serving as serving

    monkeypatch.setattr(serving, "_EpollReady", serving._SelectorReady)
    with MockPrometheus({"series": [{"labels": {"__name__": "up", "job": "a"},
                                     "samples": [[0, 1]]}]},
                        options=ServerOptions(idle_timeout_s=1, threads=2)) as p:
        assert isinstance(p._server._ready, serving._SelectorReady)
        conn = http.client.HTTPConnection("127.0.0.1", p.port, timeout=10)
        for _ in range(3):
            conn.request("GET", "/api/v1/query?query=up&time=0")
            r = conn.getresponse()
            assert r.status == 200 and json.loads(r.read())["data"]["result"][0]["value"] == [0, "1"]
        conn.close()
        r = requests.post(p.url + "/api/v1/query", data={"query": "up", "time": "0"}, timeout=10)
        assert r.json()["data"]["result"][0]["metric"] == {"__name__": "up", "job": "a"}
        with socket.create_connection(("127.0.0.1", p.port), timeout=10) as sock:
            sock.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_answer(sock).startswith(b"HTTP/1.1 200 OK")
            assert sock.recv(4096) == b"", "the idle connection is closed by the server"


def test_pipelined_and_chunked_requests():
    with MockPrometheus({"series": [{"labels": {"__name__": "up", "job": "a"},
                                     "samples": [[0, 1]]}]}) as p:
        with socket.create_connection(("127.0.0.1", p.port), timeout=10) as sock:
            body = b"query=up&time=0"
            sock.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n"
                         b"POST /api/v1/query HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                         b"Content-Type: application/x-www-form-urlencoded\r\n\r\n"
                         + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
            data = b""
            while data.count(b"HTTP/1.1 200 OK") < 2 or not data.endswith(b"}"):
                data += sock.recv(65536)  # both answers, maybe in one read
            first, second = data.split(b"HTTP/1.1 200 OK")[1:]
            assert first.endswith(b"Prometheus Server is Healthy.\n")
            assert json.loads(second.partition(b"\r\n\r\n")[2])["data"]["result"][0]["value"] == [0, "1"]
        with socket.create_connection(("127.0.0.1", p.port), timeout=10) as sock:
            sock.sendall(b"GET /-/healthy HTTP/1.0\r\n\r\n")
            answer = b""
            while chunk := sock.recv(4096):
                answer += chunk
            # as Go: an HTTP/1.0 answer closes without saying so
            assert answer.startswith(b"HTTP/1.0 200 OK") and b"Connection" not in answer


def test_a_dribbled_answer_sends_its_headers_at_once(prom):
    """A dribbling fault's headers go out at once and its body trickles in over the
    duration; every other answer goes out whole, with its Content-Length."""
    with prom.add_fault({"match": {"endpoint": "query"}, "dribble": {"chunks": 2, "over": "1.6s"}}):
        began = time.monotonic()
        r = requests.get(prom.url + "/api/v1/query", params={"query": "up"}, stream=True,
                         timeout=10)
        headers_after = time.monotonic() - began
        body = r.raw.read()
        body_after = time.monotonic() - began
    assert headers_after < 0.5 < 1.5 < body_after, (headers_after, body_after)
    assert json.loads(body)["status"] == "success"
    r = requests.get(prom.url + "/api/v1/query", params={"query": "up"}, timeout=10,
                     headers={"Accept-Encoding": "identity"})
    assert int(r.headers["Content-Length"]) == len(r.content)
