"""The server's notion of "now": the real wall clock (optionally shifted) or a fixed time.

Every request without an explicit time (``/api/v1/query`` without ``time=``, rule and
alert states, ...) asks the clock. Tests freeze it (``set``) and move it (``advance``)
so that answers are deterministic.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Optional


class Clock:
    """``Clock()`` follows the wall clock; ``Clock(fixed_ms=t)`` stands still at ``t``.

    ``set(t_ms)`` freezes the clock at ``t_ms``; ``advance(ms)`` moves a fixed clock
    forward (or shifts a real clock by an offset); ``now_ms()`` is integer milliseconds.
    """

    def __init__(self, fixed_ms: Optional[int] = None, *,
                 time_fn: Callable[[], float] = time.time):
        self._lock = threading.Lock()
        self._fixed_ms = None if fixed_ms is None else int(fixed_ms)
        self._offset_ms = 0
        self._time_fn = time_fn

    @property
    def is_fixed(self) -> bool:
        return self._fixed_ms is not None

    def now_ms(self) -> int:
        fixed = self._fixed_ms
        if fixed is not None:
            return fixed
        return int(self._time_fn() * 1000) + self._offset_ms

    def set(self, t_ms: int) -> int:
        """Freeze the clock at ``t_ms``; returns the new now."""
        with self._lock:
            self._fixed_ms = int(t_ms)
            return self._fixed_ms

    def advance(self, ms: int) -> int:
        """Move the clock forward by ``ms`` (negative moves it back); returns the new now."""
        with self._lock:
            if self._fixed_ms is not None:
                self._fixed_ms += int(ms)
            else:
                self._offset_ms += int(ms)
            return self.now_ms()

    def release(self) -> None:
        """Follow the wall clock again (no offset)."""
        with self._lock:
            self._fixed_ms = None
            self._offset_ms = 0

    def describe(self) -> dict:
        return {"mode": "fixed" if self.is_fixed else "real", "now_ms": self.now_ms()}
