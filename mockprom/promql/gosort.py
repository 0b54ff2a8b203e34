"""Go's ``sort.Sort`` (Go 1.19, the version Prometheus 2.42 is built with) and
``container/heap``, ported operation for operation, so that unstable orders (ties, NaN)
come out exactly as Prometheus produces them.

``sort.Sort`` in Go 1.19 is pattern-defeating quicksort (``src/sort/zsortinterface.go``):
insertion sort up to 12 elements, median-of-three / Tukey ninther pivots, partial
insertion sort on presorted input, heapsort after too many bad pivots. It is not stable
but deterministic for a given input order. Everything here works in place on a Python
list with a ``less(x, y)`` on elements (Go's ``Less(i, j)`` on ``data[i]``, ``data[j]``;
``Swap`` exchanges list items).
"""

from __future__ import annotations

import math
from typing import Callable, List

Less = Callable[[object, object], bool]

_MASK64 = (1 << 64) - 1

_UNKNOWN_HINT, _INCREASING_HINT, _DECREASING_HINT = 0, 1, 2


def reverse(less: Less) -> Less:
    """``sort.Reverse``: ``Less(i, j)`` becomes ``Less(j, i)``."""
    return lambda x, y: less(y, x)


# The shifts of the xorshift generator ``breakPatterns`` scatters elements with: Go 1.19
# used (13, 17, 5) (the 32-bit triple, on 64 bits); later releases (the Go 1.24 that
# builds Prometheus 3.5) use the 64-bit (13, 7, 17). Nothing else in ``sort.Sort`` differs.
XORSHIFT_GO_1_19 = (13, 17, 5)
XORSHIFT_GO_1_24 = (13, 7, 17)


def sort(data: List, less: Less, xorshift: tuple = XORSHIFT_GO_1_19) -> None:
    """``sort.Sort(data)`` of Go 1.19 (or a later Go, given its ``xorshift``), in place."""
    n = len(data)
    if n <= 1:
        return
    _pdqsort(data, less, 0, n, n.bit_length(), xorshift)


def _insertion_sort(data, less, a, b):
    for i in range(a + 1, b):
        j = i
        while j > a and less(data[j], data[j - 1]):
            data[j], data[j - 1] = data[j - 1], data[j]
            j -= 1


def _sift_down(data, less, lo, hi, first):
    root = lo
    while True:
        child = 2 * root + 1
        if child >= hi:
            return
        if child + 1 < hi and less(data[first + child], data[first + child + 1]):
            child += 1
        if not less(data[first + root], data[first + child]):
            return
        data[first + root], data[first + child] = data[first + child], data[first + root]
        root = child


def _heap_sort(data, less, a, b):
    first, lo, hi = a, 0, b - a
    for i in range((hi - 1) // 2, -1, -1):
        _sift_down(data, less, i, hi, first)
    for i in range(hi - 1, -1, -1):
        data[first], data[first + i] = data[first + i], data[first]
        _sift_down(data, less, lo, i, first)


def _pdqsort(data, less, a, b, limit, xorshift=XORSHIFT_GO_1_19):
    max_insertion = 12
    was_balanced = True
    was_partitioned = True
    while True:
        length = b - a
        if length <= max_insertion:
            _insertion_sort(data, less, a, b)
            return
        if limit == 0:
            _heap_sort(data, less, a, b)
            return
        if not was_balanced:
            _break_patterns(data, a, b, xorshift)
            limit -= 1
        pivot, hint = _choose_pivot(data, less, a, b)
        if hint == _DECREASING_HINT:
            _reverse_range(data, a, b)
            pivot = (b - 1) - (pivot - a)
            hint = _INCREASING_HINT
        if was_balanced and was_partitioned and hint == _INCREASING_HINT:
            if _partial_insertion_sort(data, less, a, b):
                return
        if a > 0 and not less(data[a - 1], data[pivot]):
            a = _partition_equal(data, less, a, b, pivot)
            continue
        mid, already = _partition(data, less, a, b, pivot)
        was_partitioned = already
        left_len, right_len = mid - a, b - mid
        balance_threshold = length // 8
        if left_len < right_len:
            was_balanced = left_len >= balance_threshold
            _pdqsort(data, less, a, mid, limit, xorshift)
            a = mid + 1
        else:
            was_balanced = right_len >= balance_threshold
            _pdqsort(data, less, mid + 1, b, limit, xorshift)
            b = mid


def _partition(data, less, a, b, pivot):
    data[a], data[pivot] = data[pivot], data[a]
    i, j = a + 1, b - 1
    while i <= j and less(data[i], data[a]):
        i += 1
    while i <= j and not less(data[j], data[a]):
        j -= 1
    if i > j:
        data[j], data[a] = data[a], data[j]
        return j, True
    data[i], data[j] = data[j], data[i]
    i += 1
    j -= 1
    while True:
        while i <= j and less(data[i], data[a]):
            i += 1
        while i <= j and not less(data[j], data[a]):
            j -= 1
        if i > j:
            break
        data[i], data[j] = data[j], data[i]
        i += 1
        j -= 1
    data[j], data[a] = data[a], data[j]
    return j, False


def _partition_equal(data, less, a, b, pivot):
    data[a], data[pivot] = data[pivot], data[a]
    i, j = a + 1, b - 1
    while True:
        while i <= j and not less(data[a], data[i]):
            i += 1
        while i <= j and less(data[a], data[j]):
            j -= 1
        if i > j:
            break
        data[i], data[j] = data[j], data[i]
        i += 1
        j -= 1
    return i


def _partial_insertion_sort(data, less, a, b):
    max_steps, shortest_shifting = 5, 50
    i = a + 1
    for _ in range(max_steps):
        while i < b and not less(data[i], data[i - 1]):
            i += 1
        if i == b:
            return True
        if b - a < shortest_shifting:
            return False
        data[i], data[i - 1] = data[i - 1], data[i]
        if i - a >= 2:  # shift the smaller one to the left (Go's loop runs down to 1)
            j = i - 1
            while j >= 1:
                if not less(data[j], data[j - 1]):
                    break
                data[j], data[j - 1] = data[j - 1], data[j]
                j -= 1
        if b - i >= 2:  # shift the greater one to the right
            j = i + 1
            while j < b:
                if not less(data[j], data[j - 1]):
                    break
                data[j], data[j - 1] = data[j - 1], data[j]
                j += 1
    return False


def _break_patterns(data, a, b, xorshift=XORSHIFT_GO_1_19):
    s1, s2, s3 = xorshift
    length = b - a
    if length >= 8:
        state = length  # xorshift seeded with the length
        modulus = 1 << length.bit_length()
        idx = a + (length // 4) * 2 - 1
        while idx <= a + (length // 4) * 2 + 1:
            state ^= (state << s1) & _MASK64
            state ^= state >> s2
            state ^= (state << s3) & _MASK64
            other = state & (modulus - 1)
            if other >= length:
                other -= length
            data[idx], data[a + other] = data[a + other], data[idx]
            idx += 1


def _choose_pivot(data, less, a, b):
    shortest_ninther, max_swaps = 50, 4 * 3
    l = b - a
    swaps = [0]
    i = a + l // 4 * 1
    j = a + l // 4 * 2
    k = a + l // 4 * 3
    if l >= 8:
        if l >= shortest_ninther:
            i = _median(data, less, i - 1, i, i + 1, swaps)
            j = _median(data, less, j - 1, j, j + 1, swaps)
            k = _median(data, less, k - 1, k, k + 1, swaps)
        j = _median(data, less, i, j, k, swaps)
    if swaps[0] == 0:
        return j, _INCREASING_HINT
    if swaps[0] == max_swaps:
        return j, _DECREASING_HINT
    return j, _UNKNOWN_HINT


def _order2(data, less, a, b, swaps):
    if less(data[b], data[a]):
        swaps[0] += 1
        return b, a
    return a, b


def _median(data, less, a, b, c, swaps):
    a, b = _order2(data, less, a, b, swaps)
    b, c = _order2(data, less, b, c, swaps)
    a, b = _order2(data, less, a, b, swaps)
    return b


def _reverse_range(data, a, b):
    i, j = a, b - 1
    while i < j:
        data[i], data[j] = data[j], data[i]
        i += 1
        j -= 1


# -- container/heap ------------------------------------------------------------------------

def heap_push(h: List, x, less: Less) -> None:
    """``heap.Push``: append, then sift the new element up."""
    h.append(x)
    _heap_up(h, len(h) - 1, less)


def heap_pop(h: List, less: Less):
    """``heap.Pop``: swap the root with the last element, sift down, remove the last."""
    n = len(h) - 1
    h[0], h[n] = h[n], h[0]
    _heap_down(h, 0, n, less)
    return h.pop()


def heap_fix(h: List, i: int, less: Less) -> None:
    """``heap.Fix``: restore the heap after ``h[i]`` changed."""
    if not _heap_down(h, i, len(h), less):
        _heap_up(h, i, less)


def _heap_up(h, j, less):
    while True:
        i = (j - 1) // 2 if j > 0 else 0  # Go's (j-1)/2 truncates: 0 for j == 0
        if i == j or not less(h[j], h[i]):
            break
        h[i], h[j] = h[j], h[i]
        j = i


def _heap_down(h, i0, n, less):
    i = i0
    while True:
        j1 = 2 * i + 1
        if j1 >= n:
            break
        j = j1
        j2 = j1 + 1
        if j2 < n and less(h[j2], h[j1]):
            j = j2
        if not less(h[j], h[i]):
            break
        h[i], h[j] = h[j], h[i]
        i = j
    return i > i0


# -- Prometheus's comparators (promql/engine.go) ---------------------------------------------

def value_heap_less(x: float, y: float) -> bool:
    """``vectorByValueHeap.Less``: NaN is smallest, else ``<``."""
    return math.isnan(x) or x < y


def reverse_value_heap_less(x: float, y: float) -> bool:
    """``vectorByReverseValueHeap.Less``: NaN is "smallest", else ``>``."""
    return math.isnan(x) or x > y
