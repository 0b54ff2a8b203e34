"""Label values from Faker providers by name (``{faker: ipv4_private, count: 3}``).

Values are seeded from the scenario seed, the label name and the provider, so the same
scenario yields the same values in every process (with the same Faker version).
"""

from __future__ import annotations

import difflib
import threading
from functools import lru_cache

from mockprom.scenario.generators import stable_hash

_LOCK = threading.Lock()
_SKIP = {"seed", "seed_instance", "seed_locale", "random", "generator_attrs", "format",
         "parse", "add_provider", "get_providers", "set_formatter", "get_formatter",
         "set_arguments", "get_arguments", "del_arguments", "provider", "weights", "factories"}


@lru_cache(maxsize=1)
def _faker():
    from faker import Faker
    return Faker("en_US")


@lru_cache(maxsize=1)
def provider_names() -> tuple[str, ...]:
    """Every provider method name Faker offers (en_US)."""
    names = set()
    for provider in _faker().providers:
        for name in dir(provider):
            if name.startswith("_") or name in _SKIP:
                continue
            if callable(getattr(provider, name, None)):
                names.add(name)
    return tuple(sorted(names))


def check_provider(name: str) -> str:
    """``name`` if Faker has it, else ``ValueError`` listing close names."""
    if name in provider_names():
        return name
    close = difflib.get_close_matches(name, provider_names(), n=4, cutoff=0.6)
    hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else \
        " (see the Faker documentation for provider names, e.g. ipv4_private, hostname, first_name)"
    raise ValueError(f"unknown faker provider {name!r}{hint}")


def fake_values(provider: str, count: int, *, seed: int, label: str) -> list[str]:
    """``count`` distinct values of ``provider``, deterministic for (seed, label)."""
    check_provider(provider)
    fake = _faker()
    out: list[str] = []
    seen = set()
    with _LOCK:
        fake.seed_instance(stable_hash(int(seed), "faker", label, provider) & 0x7FFFFFFF)
        method = getattr(fake, provider)
        tries = 0
        while len(out) < count and tries < count * 50 + 50:
            tries += 1
            v = method()
            s = v if isinstance(v, str) else str(v)
            if s and s not in seen:
                seen.add(s)
                out.append(s)
    if len(out) < count:
        raise ValueError(f"faker provider {provider!r} gave only {len(out)} distinct values, "
                         f"{count} asked")
    return out
