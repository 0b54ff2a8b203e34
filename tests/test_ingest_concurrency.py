"""Several clients remote-writing and pushing at once lose nothing."""

from __future__ import annotations

import threading

import requests

from mockprom.ingest import remote_write as rw
from mockprom.scenario.labels import Matcher
from mockprom.scenario.samples import stale_mask
from test_ingest_support import Served

WRITERS, BATCHES, SERIES, PER_SERIES = 4, 10, 5, 20
PUSHERS, PUSHES = 3, 10


def test_concurrent_remote_writes_and_pushes_lose_nothing():
    with Served() as s:
        t0 = s.state.clock.now_ms() - 3_600_000
        errors: list = []

        def writer(w: int) -> None:
            with requests.Session() as http:
                for b in range(BATCHES):
                    # every writer writes the shared series too: its own label keeps them apart
                    series = [({"__name__": "cc_metric", "writer": str(w), "s": str(i)},
                               [(t0 + (b * PER_SERIES + k) * 1000, float(w * 1e6 + b * 1000 + k))
                                for k in range(PER_SERIES)]) for i in range(SERIES)]
                    r = http.post(s.url + "/api/v1/write", data=rw.encode(series))
                    if r.status_code != 204:
                        errors.append((w, b, r.status_code, r.text))

        def pusher(p: int) -> None:
            with requests.Session() as http:
                for n in range(PUSHES):
                    r = http.post(s.url + f"/metrics/job/pusher{p}",
                                  data=f"# TYPE pushed_{n} gauge\npushed_{n} {p * 100 + n}\n")
                    if r.status_code != 200:
                        errors.append((p, n, r.status_code, r.text))

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
        threads += [threading.Thread(target=pusher, args=(p,)) for p in range(PUSHERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert errors == []

        got = s.state.store.select([Matcher.of("__name__", "=", "cc_metric")], t0, t0 + 10**9)
        assert len(got) == WRITERS * SERIES
        for sd in got:
            w = int(dict(sd.labels)["writer"])
            expected_ts = [t0 + j * 1000 for j in range(BATCHES * PER_SERIES)]
            assert sd.ts.tolist() == expected_ts
            assert sd.vals.tolist() == [w * 1e6 + (j // PER_SERIES) * 1000 + j % PER_SERIES
                                        for j in range(BATCHES * PER_SERIES)]

        now = s.state.clock.now_ms()
        for p in range(PUSHERS):
            found = {dict(sd.labels)["__name__"]: float(sd.vals[-1]) for sd in s.state.store.select(
                [Matcher.of("job", "=", f"pusher{p}"), Matcher.of("__name__", "=~", "pushed_.*")], now, now)
                if not stale_mask(sd.vals).any()}
            assert found == {f"pushed_{n}": float(p * 100 + n) for n in range(PUSHES)}
