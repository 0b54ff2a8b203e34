"""How each emulated Prometheus line treats native histograms it is sent (the
``native_histograms`` behaviour table; see ``mockprom.versions``)."""

from __future__ import annotations

from dataclasses import dataclass

from mockprom import versions


@dataclass(frozen=True)
class NativeRules:
    # Schema -53 means custom buckets (3.x). 2.42 knows no such schema: it stores the
    # histogram and reads its buckets as exponential buckets of schema -53.
    custom_buckets: bool
    # An integer histogram's count must equal its buckets' total (unless its sum is NaN),
    # and a float histogram's count is not checked (3.x); 2.42 requires count >= total.
    exact_int_count: bool


NATIVE = versions.table("native_histograms", {
    "2.42": NativeRules(custom_buckets=False, exact_int_count=False),
    "3.5": NativeRules(custom_buckets=True, exact_int_count=True),
})
