"""One remote-write request, start to finish, as the emulated Prometheus answers it:
negotiate the message (``negotiation``), decode (``remote_write`` for 1.0,
``remote_write_v2`` for 2.0), append (``acceptance.commit``) and word the answer.

``receive(state, content_type, encoding, body)`` returns an ``Answer`` (status, text,
headers, samples stored); it never raises for bad input. The Flask side
(``mockprom.api.write``) only turns it into a response.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mockprom.ingest import remote_write, remote_write_v2
from mockprom.ingest.acceptance import RULES, PlainBatches, Rules, Window, canonical, commit
from mockprom.ingest.errors import IngestError
from mockprom.ingest.negotiation import V1_MESSAGE, V2_MESSAGE, refusals
from mockprom.ingest.state import emulation_of, ingest_for, server_settings

HISTOGRAMS_DISABLED = "native histograms are disabled"
HISTOGRAMS_UNSUPPORTED = ("exponential histograms from OTLP are not supported by this mockprom yet "
                          "(they need the native histogram storage)")


@dataclass
class Answer:
    status: int = 204
    text: str = ""
    headers: dict = field(default_factory=dict)
    samples: int = 0  # float samples stored


def policy_of(state, rules: Rules) -> str:
    """The label policy of writes into ``state`` (``acceptance.label_problem``)."""
    return "strict" if server_settings(state).remote_write.strict else rules.invalid_series


def receive(state, content_type: str, encoding: str, body: bytes) -> Answer:
    emulation = emulation_of(state)
    rules = RULES[emulation]
    msg, refused = V1_MESSAGE, None
    if rules.negotiates:
        accepted = server_settings(state).remote_write.accepted_protobuf_messages
        msg, refused = refusals(content_type, encoding, accepted)
        if msg is None:
            return Answer(415, refused + "\n")
    try:
        raw = remote_write.decompress(body)
        if msg == V2_MESSAGE:
            answer = _write_v2(state, raw, rules, emulation)
        else:
            answer = _write_v1(state, raw, rules)
    except IngestError as err:
        answer = Answer(err.status, err.message + "\n")
    if refused:  # 3.5.3 answered 415 first, then went on: later words join the body
        return Answer(415, refused + "\n" + (answer.text if answer.status >= 400 else ""),
                      samples=answer.samples)
    return answer


def native_rules(emulation):
    """The line's native histogram rules when the native-histograms feature is on."""
    from mockprom.histograms.behaviour import NATIVE

    return NATIVE[emulation] if emulation.has("native-histograms") else None


def _write_v1(state, raw: bytes, rules: Rules) -> Answer:
    with remote_write.gc_paused():  # the request's objects are gone when it ends
        return Answer(204, samples=_append_v1(state, raw, rules).samples)


def _append_v1(state, raw: bytes, rules: Rules):
    ing = ingest_for(state)
    batches = remote_write.decode_raw(raw, policy_of(state, rules))
    with ing.lock:
        window = Window(ing.head, rules, state.clock.now_ms(), native_rules(emulation_of(state)))
        return commit(state.store, ing.head, batches, window)


def _write_v2(state, raw: bytes, rules: Rules, emulation) -> Answer:
    with remote_write.gc_paused():  # decode and commit: see gc_paused
        return _append_v2(state, raw, rules, emulation)


def _append_v2(state, raw: bytes, rules: Rules, emulation) -> Answer:
    ing = ingest_for(state)
    series = remote_write_v2.decode(raw, policy_of(state, rules))
    valid = [s for s in series if s.batch.problem is None]
    if any(s.histograms for s in valid) and not emulation.has("native-histograms"):
        return Answer(500, HISTOGRAMS_DISABLED + "\n", _written(0, 0, 0))
    batches = []
    plain = True  # valid labels, float samples only (acceptance.PlainBatches)
    for s in series:
        b = s.batch
        if s.histograms and b.problem is None:
            b.hists = remote_write.histogram_samples(s.histograms)  # same fields as 1.0
        if s.created_ms and emulation.has("created-timestamp-zero-ingestion"):
            b.created = s.created_ms
        if plain and (b.problem is not None or b.hists or b.created is not None):
            plain = False
        batches.append(b)
    if plain:
        batches = PlainBatches(batches)
    with ing.lock:
        window = Window(ing.head, rules, state.clock.now_ms(), native_rules(emulation))
        outcome = commit(state.store, ing.head, batches, window, partial=True)
        exemplars = 0
        for s in valid:
            exemplars += len(s.exemplars)
            if s.exemplars:
                _keep_exemplars(ing, s.batch.labels, s.exemplars)
            if s.metadata is not None:
                name = remote_write_v2.metric_of(s)
                if name:
                    ing.metadata[remote_write_v2.family_name(name, s.metadata["type"])] = s.metadata
    errors = outcome.errors
    answer = Answer(204, samples=outcome.samples,
                    headers=_written(outcome.samples, outcome.histograms, exemplars))
    if errors:
        answer.status, answer.text = 400, "\n".join(errors) + "\n"
    return answer


EXEMPLARS_PER_SERIES = 100


def _keep_exemplars(ing, labels, exemplars: list) -> None:
    kept = ing.exemplars.setdefault(labels, [])
    kept.extend(exemplars)
    del kept[:-EXEMPLARS_PER_SERIES]


def receive_otlp(state, content_type: str, encoding: str, body: bytes) -> Answer:
    """An OTLP export request (``otlp``): 200 with an empty body when written."""
    from mockprom.ingest import otlp

    emulation = emulation_of(state)
    rules = RULES[emulation]
    try:
        req = otlp.decode(body, content_type, encoding)
    except IngestError as err:
        return Answer(err.status, err.message + "\n")
    with remote_write.gc_paused():  # translation and commit: see gc_paused
        return _append_otlp(state, req, emulation, rules)


def _append_otlp(state, req, emulation, rules: Rules) -> Answer:
    from mockprom.ingest import otlp
    from mockprom.ingest.state import scenario_lookback_ms

    ing = ingest_for(state)
    settings = otlp.Settings.of(server_settings(state).otlp, emulation,
                                scenario_lookback_ms(getattr(state, "scenario", None)))
    tr = otlp.translate(req, settings, ing.deltas)
    if tr.histograms:
        if not settings.native_histograms:
            return Answer(500, HISTOGRAMS_DISABLED + "\n")
        return Answer(400, HISTOGRAMS_UNSUPPORTED + "\n")
    batches = tr.batches(policy_of(state, rules))
    try:
        with ing.lock:
            outcome = commit(state.store, ing.head, batches, Window(ing.head, rules,
                                                                   state.clock.now_ms()))
            for key, exemplars in tr.exemplars:
                _keep_exemplars(ing, canonical(key), exemplars)
            for name, meta in tr.metadata.items():
                ing.metadata[name] = meta
    except IngestError as err:
        return Answer(err.status, err.message + "\n")
    return Answer(200, samples=outcome.samples)


def _written(samples: int, histograms: int, exemplars: int) -> dict:
    return {"X-Prometheus-Remote-Write-Samples-Written": str(samples),
            "X-Prometheus-Remote-Write-Histograms-Written": str(histograms),
            "X-Prometheus-Remote-Write-Exemplars-Written": str(exemplars)}
