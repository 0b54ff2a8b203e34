"""The scenario format as pydantic models (unknown fields are errors everywhere).

Durations are stored in ms (``DurationMs``), points in time as ``TimeSpec`` (absolute or
relative to the moment the scenario is loaded). See DESIGN.md, "Data: scenarios".
"""

from __future__ import annotations

import functools
import itertools
import re
from typing import Annotated, Any, Dict, List, Literal, Optional, Tuple, Union

from pydantic import (AfterValidator, BeforeValidator, Discriminator, Field, PlainSerializer,
                      PlainValidator, PrivateAttr, Tag, WithJsonSchema, field_validator,
                      model_validator)

from mockprom import versions
from mockprom.scenario import fakelabels
from mockprom.scenario.durations import _format_sample_value, _sample_value
from mockprom.scenario.durations import (DurationMs, SampleValue, StrictModel, TimeField,
                                         TimeSpec, TimestampMs, format_timestamp_ms,
                                         parse_duration_ms, parse_time_spec)
from mockprom.scenario.generators import GeneratorSpec
from mockprom.histograms import FloatHistogram, format_histogram, parse_histogram
from mockprom.scenario.notation import expand, parse_selector

__all__ = ["Scenario", "parse_duration_ms", "NotationSeries", "ExplicitSeries",
           "GeneratedSeries", "FakerLabel", "Target", "RuleGroup", "Rule", "Auth",
           "ServerSettings", "MetricMetadata", "Alertmanagers", "METRIC_TYPES"]

METRIC_TYPES = ("counter", "gauge", "histogram", "summary", "untyped", "unknown", "info",
                "stateset", "gaugehistogram")
MetricType = Literal["counter", "gauge", "histogram", "summary", "untyped", "unknown", "info",
                     "stateset", "gaugehistogram"]
_METRIC_NAME = r"^[a-zA-Z_:][a-zA-Z0-9_:]*$"


def _label_text(v: Any) -> str:
    """A label value from YAML: strings as they are, numbers and booleans as text."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float, str)):
        return str(v)
    raise ValueError(f"a label value must be a string, got {type(v).__name__}")


@functools.lru_cache(maxsize=16)
def _expand_cached(values: str) -> tuple:
    """Validation and the model both need the expansion: compute it once."""
    return tuple(expand(values))


def _labels_dict(v: Any) -> Dict[str, str]:
    if not isinstance(v, dict):
        raise ValueError("labels must be a mapping of label name to value")
    return {str(k): _label_text(val) for k, val in v.items()}


# -- series ---------------------------------------------------------------------------------


def _positive_interval(v: int) -> int:
    if v <= 0:
        raise ValueError("interval must be positive")
    return v


IntervalMs = Annotated[DurationMs, AfterValidator(_positive_interval)]
"""A sample spacing: a duration, which must be positive."""


class NotationSeries(StrictModel):
    """``{series: 'metric{a="b"}', values: "0+3x100 _x5 stale"}``: sample i at
    ``start + i * interval``."""

    series: str
    values: str = ""
    interval: Optional[IntervalMs] = None
    start: Optional[TimeField] = None
    _labels: Dict[str, str] = PrivateAttr(default_factory=dict)
    _expanded: Tuple[Optional[float], ...] = PrivateAttr(default_factory=tuple)

    @field_validator("series")
    @classmethod
    def _selector(cls, v: str) -> str:
        labels = parse_selector(v)
        if not labels.get("__name__"):
            raise ValueError(f"series {v!r} has no metric name")
        return v

    @field_validator("values", mode="before")
    @classmethod
    def _values(cls, v):
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            v = str(v)
        if not isinstance(v, str):
            raise ValueError("values must be a string in expanding notation, e.g. \"0+1x10\"")
        _expand_cached(v)
        return v

    def model_post_init(self, __context) -> None:
        self._labels = parse_selector(self.series)
        self._expanded = _expand_cached(self.values)

    @property
    def labels(self) -> Dict[str, str]:
        return dict(self._labels)

    @property
    def expanded(self) -> List[Optional[float]]:
        return list(self._expanded)


def _explicit_value(v):
    """A float sample value, or a native histogram in the series notation."""
    if isinstance(v, FloatHistogram):
        return v
    if isinstance(v, str) and v.strip().startswith("{{"):
        h, end = parse_histogram(v.strip())
        if v.strip()[end:]:
            raise ValueError(f"unexpected {v.strip()[end:]!r} after the histogram")
        return h
    return _sample_value(v)


def _format_explicit_value(v):
    if isinstance(v, FloatHistogram):
        return format_histogram(v)
    return _format_sample_value(v)


ExplicitValue = Annotated[Any, PlainValidator(_explicit_value),
                          PlainSerializer(_format_explicit_value),
                          WithJsonSchema({"anyOf": [
                              {"type": "number"},
                              {"enum": ["NaN", "+Inf", "-Inf", "Inf", "stale"]},
                              {"type": "string", "pattern": "^\\s*\\{\\{.*\\}\\}\\s*$",
                               "description": "a native histogram, e.g. "
                                              "{{schema:0 sum:5 count:4 buckets:[1 2 1]}}"}]})]
"""A sample value of explicit samples: a number, "NaN", "+Inf", "-Inf", "stale", or a
native histogram ``{{schema:0 sum:5 count:4 buckets:[1 2 1]}}``."""


class ExplicitSeries(StrictModel):
    """``{labels: {__name__: x}, samples: [[t, v], ...]}``; t in unix seconds or RFC3339,
    v a number, "NaN", "+Inf", "-Inf", "stale" or a native histogram
    ``"{{schema:0 sum:5 count:4 buckets:[1 2 1]}}"``."""

    labels: Dict[str, str]
    samples: List[Tuple[TimestampMs, ExplicitValue]] = Field(default_factory=list)

    @field_validator("labels", mode="before")
    @classmethod
    def _labels(cls, v):
        d = _labels_dict(v)
        if not d.get("__name__"):
            raise ValueError("labels must include __name__ (the metric name)")
        _check_label_names(d)
        return d


def _check_label_names(d: Dict[str, Any]) -> None:
    """Names as Prometheus 3 takes them: any non-empty UTF-8 string (a real 2.42 stores
    such series by remote write too, and selects them with ``{__name__=~...}``)."""
    for k in d:
        if not k:
            raise ValueError("invalid label name '': label names must not be empty")


class FakerLabel(StrictModel):
    """``{faker: ipv4_private, count: 3}``: ``count`` seeded values from a Faker provider."""

    faker: str
    count: int = Field(1, ge=1, le=10_000)

    @field_validator("faker")
    @classmethod
    def _known(cls, v: str) -> str:
        return fakelabels.check_provider(v)


def _label_shape(v: Any) -> str:
    if isinstance(v, (dict, FakerLabel)):
        return "faker-spec"
    if isinstance(v, list):
        return "value-list"
    return "single-value"


MAX_SERIES_PER_GENERATOR = 100_000

GeneratorLabel = Annotated[
    Union[Annotated[str, Tag("single-value")], Annotated[List[str], Tag("value-list")],
          Annotated[FakerLabel, Tag("faker-spec")]],
    Discriminator(_label_shape),
]
"""A label of a generated series: a value, a list of values, or ``{faker, count}``."""


class GeneratedSeries(StrictModel):
    """A generator: one series per combination of the label values (lists and faker
    labels multiply)."""

    metric: str = Field(pattern=_METRIC_NAME)
    type: MetricType = "untyped"
    help: str = ""
    unit: str = ""
    labels: Dict[str, GeneratorLabel] = Field(default_factory=dict)
    generator: GeneratorSpec
    interval: Optional[IntervalMs] = None
    start: Optional[TimeField] = None
    end: Optional[TimeField] = None

    @field_validator("labels", mode="before")
    @classmethod
    def _labels(cls, v):
        if not isinstance(v, dict):
            raise ValueError("labels must be a mapping of label name to value, list or faker spec")
        out = {}
        for k, val in v.items():
            if isinstance(val, list):
                out[str(k)] = [_label_text(x) for x in val]
            elif isinstance(val, dict):
                out[str(k)] = val
            else:
                out[str(k)] = _label_text(val)
        _check_label_names(out)
        if "__name__" in out:
            raise ValueError("give the metric name in 'metric', not as a __name__ label")
        return out

    @model_validator(mode="after")
    def _type_matches(self):
        kind = self.generator.kind
        if kind in ("histogram", "summary") and self.type not in (kind, "untyped"):
            raise ValueError(f"a {kind} generator needs type: {kind}")
        if kind == "native_histogram" and self.type not in ("histogram", "gaugehistogram",
                                                            "untyped"):
            raise ValueError("a native_histogram generator needs type: histogram (or "
                             "gaugehistogram for a gauge histogram)")
        n = 1
        for spec in self.labels.values():
            n *= spec.count if isinstance(spec, FakerLabel) else len(spec) if isinstance(spec, list) else 1
        if n > MAX_SERIES_PER_GENERATOR:
            raise ValueError(f"labels multiply to {n} series; at most {MAX_SERIES_PER_GENERATOR} "
                             f"per generator")
        return self

    def label_sets(self, seed: int) -> List[Dict[str, str]]:
        """The cartesian product of the label values, in a stable order."""
        names = sorted(self.labels)
        choices = []
        for name in names:
            spec = self.labels[name]
            if isinstance(spec, FakerLabel):
                choices.append(fakelabels.fake_values(spec.faker, spec.count, seed=seed, label=name))
            elif isinstance(spec, list):
                choices.append(list(dict.fromkeys(spec)))
            else:
                choices.append([spec])
        return [dict(zip(names, combo)) for combo in itertools.product(*choices)]


def _series_shape(v: Any) -> Optional[str]:
    if isinstance(v, StrictModel):
        return {NotationSeries: "notation", ExplicitSeries: "explicit",
                GeneratedSeries: "generated"}.get(type(v))
    if not isinstance(v, dict):
        return None
    if "series" in v or "values" in v:
        return "notation"
    if "metric" in v or "generator" in v:
        return "generated"
    if "labels" in v or "samples" in v:
        return "explicit"
    return None


SeriesSpec = Annotated[
    Union[Annotated[NotationSeries, Tag("notation")],
          Annotated[ExplicitSeries, Tag("explicit")],
          Annotated[GeneratedSeries, Tag("generated")]],
    Discriminator(_series_shape, custom_error_type="series_shape",
                  custom_error_message="cannot tell the series shape: expected 'series' + "
                                       "'values' (notation), 'labels' + 'samples' (explicit), "
                                       "or 'metric' + 'generator' (generator)"),
]
SERIES_TAGS = ("notation", "explicit", "generated")

# -- metadata, targets, rules ---------------------------------------------------------------


class MetricMetadata(StrictModel):
    type: MetricType = "unknown"
    help: str = ""
    unit: str = ""


class Target(StrictModel):
    """A scrape target as ``/api/v1/targets`` reports it."""

    labels: Dict[str, str]
    scrape_pool: Optional[str] = None
    scrape_url: Optional[str] = None
    health: Optional[Literal["up", "down", "unknown"]] = None  # None: follow the `up` series
    last_error: str = ""
    last_scrape: Optional[TimeField] = None
    last_scrape_duration: Optional[float] = Field(None, ge=0)
    scrape_interval: Optional[DurationMs] = None
    scrape_timeout: Optional[DurationMs] = None
    discovered_labels: Dict[str, str] = Field(default_factory=dict)

    @field_validator("labels", mode="before")
    @classmethod
    def _job_instance(cls, v):
        d = _labels_dict(v)
        missing = [n for n in ("job", "instance") if not d.get(n)]
        if missing:
            raise ValueError(f"target labels must hold job and instance (missing {', '.join(missing)})")
        return d

    @field_validator("discovered_labels", mode="before")
    @classmethod
    def _discovered(cls, v):
        return _labels_dict(v)


class DroppedTarget(StrictModel):
    discovered_labels: Dict[str, str]

    @field_validator("discovered_labels", mode="before")
    @classmethod
    def _discovered(cls, v):
        return _labels_dict(v)


class Rule(StrictModel):
    """A recording rule (``record``) or an alerting rule (``alert``)."""

    record: Optional[str] = None
    alert: Optional[str] = None
    expr: str
    for_: Optional[DurationMs] = Field(None, alias="for")
    keep_firing_for: Optional[DurationMs] = None
    labels: Dict[str, str] = Field(default_factory=dict)
    annotations: Dict[str, str] = Field(default_factory=dict)

    @field_validator("labels", "annotations", mode="before")
    @classmethod
    def _texts(cls, v):
        return _labels_dict(v)

    @model_validator(mode="after")
    def _one_kind(self):
        if (self.record is None) == (self.alert is None):
            raise ValueError("a rule has exactly one of 'record' or 'alert'")
        if self.record is not None and (self.for_ or self.keep_firing_for or self.annotations):
            raise ValueError("a recording rule takes no 'for', 'keep_firing_for' or 'annotations'")
        return self

    @property
    def kind(self) -> str:
        return "recording" if self.record is not None else "alerting"

    @property
    def name(self) -> str:
        return self.record if self.record is not None else self.alert


class RuleGroup(StrictModel):
    name: str
    file: str = "rules.yaml"
    interval: Optional[DurationMs] = None
    limit: int = Field(0, ge=0)
    rules: List[Rule] = Field(default_factory=list)


class Alertmanagers(StrictModel):
    active: List[str] = Field(default_factory=list)
    dropped: List[str] = Field(default_factory=list)


def _alertmanagers(v):
    if isinstance(v, list):
        return {"active": v}
    return v


class Auth(StrictModel):
    """``none`` (default), ``bearer`` (a token) or ``basic`` (username and password)."""

    type: Literal["none", "bearer", "basic"] = "none"
    token: Optional[str] = Field(None, repr=False)  # secrets stay out of reprs and logs
    username: Optional[str] = None
    password: Optional[str] = Field(None, repr=False)

    @model_validator(mode="after")
    def _complete(self):
        if self.type == "bearer" and not self.token:
            raise ValueError("bearer auth requires a token")
        if self.type == "basic" and (not self.username or not self.password):
            raise ValueError("basic auth requires username and password")
        return self


REMOTE_WRITE_MESSAGES = ("prometheus.WriteRequest", "io.prometheus.write.v2.Request")


class RemoteWriteSettings(StrictModel):
    """How ``/api/v1/write`` accepts data (beyond what the emulated version does)."""

    # refuse (400) series without a metric name, with names or label names outside the
    # legacy character set, or with a label name twice, instead of doing what the
    # emulated version does (2.42 stores them, 3.5 drops them silently)
    strict: bool = False
    # Prometheus's --web.remote-write-receiver.accepted-protobuf-messages (3.5)
    accepted_protobuf_messages: List[Literal["prometheus.WriteRequest",
                                             "io.prometheus.write.v2.Request"]] = \
        Field(default_factory=lambda: list(REMOTE_WRITE_MESSAGES), min_length=1)


class RemoteReadSettings(StrictModel):
    """How ``/api/v1/read`` answers."""

    # serve STREAMED_XOR_CHUNKS to clients that ask for it (false: always SAMPLES, as a
    # server without streamed remote read answers; clients then read raw samples)
    streamed_chunks: bool = True


class OtlpSettings(StrictModel):
    """Prometheus 3.5's ``otlp:`` configuration block (how OTLP metrics are translated)."""

    promote_resource_attributes: List[str] = Field(default_factory=list)
    promote_all_resource_attributes: bool = False
    ignore_resource_attributes: List[str] = Field(default_factory=list)
    translation_strategy: Literal["UnderscoreEscapingWithSuffixes",
                                  "NoUTF8EscapingWithSuffixes", "NoTranslation"] = \
        "UnderscoreEscapingWithSuffixes"
    keep_identifying_resource_attributes: bool = False
    convert_histograms_to_nhcb: bool = False
    promote_scope_metadata: bool = False

    @model_validator(mode="after")
    def _consistent(self):
        if self.promote_all_resource_attributes and self.promote_resource_attributes:
            raise ValueError("'promote_all_resource_attributes' and "
                             "'promote_resource_attributes' cannot be configured simultaneously")
        if self.ignore_resource_attributes and not self.promote_all_resource_attributes:
            raise ValueError("'ignore_resource_attributes' cannot be configured unless "
                             "'promote_all_resource_attributes' is true")
        return self


class ServerSettings(StrictModel):
    lookback_delta: DurationMs = 300_000
    max_points_per_series: int = Field(11_000, ge=1)
    admin_api: bool = False
    query_timeout: DurationMs = 120_000
    flavour: str = "prometheus"
    # the Prometheus version emulated: 2.42.x or 3.5.x (mockprom.versions)
    version: str = versions.DEFAULT_VERSION
    # Prometheus's --enable-feature flags of that version (promql-experimental-functions...)
    features: List[str] = Field(default_factory=list)
    control_token: Optional[str] = Field(None, repr=False)
    # stats=all also reports per-step sample counts, as with Prometheus's
    # --enable-feature=promql-per-step-stats
    per_step_stats: bool = False
    # remote write acceptance (strict checks, accepted protobuf messages)
    remote_write: RemoteWriteSettings = Field(default_factory=RemoteWriteSettings)
    # remote read (the response types served)
    remote_read: RemoteReadSettings = Field(default_factory=RemoteReadSettings)
    # the OTLP receiver's translation (Prometheus's otlp: configuration block)
    otlp: OtlpSettings = Field(default_factory=OtlpSettings)

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, v):
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            raise ValueError(f"YAML read {v} as a number: quote it ('{v}') or write the "
                             f"whole version, e.g. 2.42.0 or {versions.DEFAULT_VERSION}")
        return v

    @field_validator("version")
    @classmethod
    def _known_version(cls, v):
        versions.resolve(v)  # VersionError says what is emulated
        return v

    @model_validator(mode="after")
    def _known_features(self):
        versions.resolve(self.version, self.features)  # each flag must be the line's
        return self

    def emulation(self) -> versions.Emulation:
        """The version and feature flags this block asks for."""
        flags = set(self.features)
        if self.per_step_stats:
            flags.add("promql-per-step-stats")
        return versions.resolve(self.version, flags)


def _clock(v):
    if isinstance(v, str) and v.strip().lower() == "real":
        return "real"
    spec = parse_time_spec(v)
    if spec.is_relative:
        raise ValueError("clock is \"real\" or a fixed time (RFC3339 or unix seconds), not relative")
    return spec.absolute_ms


def _format_clock(v):
    return v if v == "real" else format_timestamp_ms(v)


ClockField = Annotated[Union[Literal["real"], int], PlainValidator(_clock),
                       PlainSerializer(_format_clock),
                       WithJsonSchema({"anyOf": [{"const": "real"}, {"type": "string"},
                                                 {"type": "number"}],
                                       "description": "\"real\" or a fixed RFC3339/unix time"})]

# -- the scenario ---------------------------------------------------------------------------


class Scenario(StrictModel):
    """A whole scenario (one YAML or JSON document)."""

    name: str = "mockprom"
    # one line saying what the scenario is for (``mockprom scenarios`` lists it)
    description: str = ""
    seed: int = 0
    interval: IntervalMs = 15_000
    start: TimeField = TimeSpec(relative_ms=-3_600_000)
    clock: ClockField = "real"
    series: List[SeriesSpec] = Field(default_factory=list)
    metadata: Dict[str, MetricMetadata] = Field(default_factory=dict)
    targets: Optional[List[Target]] = None
    dropped_targets: List[DroppedTarget] = Field(default_factory=list)
    rules: List[RuleGroup] = Field(default_factory=list)
    alertmanagers: Annotated[Alertmanagers, BeforeValidator(
        _alertmanagers, json_schema_input_type=Union[List[str], Alertmanagers])] = \
        Field(default_factory=Alertmanagers)
    config: Optional[Union[str, Dict[str, Any]]] = None
    flags: Dict[str, str] = Field(default_factory=dict)
    buildinfo: Dict[str, str] = Field(default_factory=dict)
    auth: Auth = Field(default_factory=Auth)
    faults: List[Dict[str, Any]] = Field(default_factory=list)
    timeline: List[Dict[str, Any]] = Field(default_factory=list)
    server: ServerSettings = Field(default_factory=ServerSettings)

    @field_validator("flags", "buildinfo", mode="before")
    @classmethod
    def _texts(cls, v):
        return _labels_dict(v)

    @model_validator(mode="after")
    def _faker_values(self):
        """Faker labels need the scenario's seed: draw them now, so that a provider that
        cannot give enough distinct values is a validation error, not a build failure."""
        problems = []
        for i, spec in enumerate(self.series):
            if isinstance(spec, GeneratedSeries):
                for name, label in spec.labels.items():
                    if isinstance(label, FakerLabel):
                        try:
                            fakelabels.fake_values(label.faker, label.count, seed=self.seed, label=name)
                        except ValueError as e:
                            problems.append(f"series[{i}].labels.{name}: {e}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def fixed_clock_ms(self) -> Optional[int]:
        """The fixed "now" in ms, or None for the real clock."""
        return None if self.clock == "real" else int(self.clock)

    def config_doc(self) -> Optional[Dict[str, Any]]:
        """The configuration mockprom reports when the scenario gives none (``global`` and
        one ``scrape_configs`` entry per target job, in Prometheus 2.42's shape), or None
        when the scenario's own ``config`` is to be reported as it is."""
        if self.config is not None:
            return None
        from mockprom.scenario.durations import format_duration_ms
        iv = format_duration_ms(self.interval)
        jobs = sorted({t.labels["job"] for t in (self.targets or [])})
        # evaluation_interval: Prometheus's default, which rule groups and step-less
        # subqueries use unless the scenario's own config sets another.
        cfg = {"global": {"scrape_interval": iv, "scrape_timeout": "10s",
                          "evaluation_interval": "1m"}}
        if jobs:
            cfg["scrape_configs"] = [{"job_name": j, "honor_timestamps": True,
                                      "scrape_interval": iv, "scrape_timeout": "10s",
                                      "metrics_path": "/metrics", "scheme": "http"} for j in jobs]
        return cfg

    def config_text(self) -> str:
        """The configuration YAML ``/api/v1/status/config`` returns (2.42's shape for a
        generated one; ``mockprom.api.status`` reshapes ``config_doc`` per version)."""
        import yaml
        if isinstance(self.config, str):
            return self.config
        if isinstance(self.config, dict):
            return yaml.safe_dump(self.config, sort_keys=False)
        return yaml.safe_dump(self.config_doc(), sort_keys=False)
