"""The scenario library: the example scenarios that ship inside the package.

Every file in ``mockprom/library/`` is a scenario addressable by its name (``slo-burn``)
wherever a scenario is taken: ``MockPrometheus(scenario="slo-burn")``, the pytest
marker, ``mockprom serve --scenario slo-burn``, ``PUT /-/mockprom/scenario?name=slo-burn``.
``mockprom scenarios`` lists them. A name is looked up only when no file of that name
exists, so paths keep working.

``ScenarioLibrary`` is what a server can switch to by name: the packaged scenarios plus
the scenarios of a ``--scenario`` directory (which win on a name clash). Packaged files
are loaded only when asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterator, Optional

LIBRARY_DIR = Path(__file__).resolve().parent.parent / "library"
SUFFIXES = (".yaml", ".yml", ".json")  # what a scenario file is called, here and elsewhere


@dataclass(frozen=True)
class Entry:
    """One packaged scenario: its name, file and one-line description."""

    name: str
    path: Path
    description: str


def _describe(path: Path) -> Entry:
    """Name and description from the file's top-level keys (read, not validated)."""
    import yaml  # JSON is YAML too

    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_loader())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        data = None
    data = data if isinstance(data, dict) else {}
    return Entry(str(data.get("name") or path.stem), path, str(data.get("description") or ""))


def _loader():
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@lru_cache(maxsize=1)
def _scan() -> tuple[Entry, ...]:
    """Every packaged scenario, read once: the package's files do not change while it runs."""
    if not LIBRARY_DIR.is_dir():
        return ()
    return tuple(_describe(path) for path in sorted(LIBRARY_DIR.iterdir())
                 if path.suffix.lower() in SUFFIXES and path.is_file())


def entries() -> dict[str, Entry]:
    """The packaged scenarios by name, sorted by name."""
    return dict(sorted((entry.name, entry) for entry in _scan()))


def find(name: str) -> Optional[Path]:
    """The file of the packaged scenario called ``name`` (or None)."""
    entry = entries().get(str(name).strip())
    return entry.path if entry else None


def default_path() -> Path:
    """The embedded default demo."""
    return LIBRARY_DIR / "default.yaml"


class ScenarioLibrary(Mapping):
    """The scenarios a server can switch to by name: a ``--scenario`` directory's
    (``extra``, name -> Scenario or source) over the packaged ones. Values are scenario
    sources (a ``Scenario`` or a packaged file's path) that the server's loader takes."""

    def __init__(self, extra: Optional[Mapping] = None,
                 packaged: Callable[[], dict[str, Entry]] = entries):
        self._extra = dict(extra or {})
        self._packaged = packaged

    def _names(self) -> list[str]:
        return sorted(set(self._extra) | set(self._packaged()))

    def __getitem__(self, name):
        if name in self._extra:
            return self._extra[name]
        entry = self._packaged().get(name)
        if entry is None:
            raise KeyError(name)
        return entry.path

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    def __contains__(self, name) -> bool:
        return name in self._extra or name in self._packaged()
