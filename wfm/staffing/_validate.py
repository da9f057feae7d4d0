"""Argument checks shared by the staffing functions (private)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from wfm.errors import InputError

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]


def _where(name: str, arr: npt.NDArray[np.generic], bad: npt.NDArray[np.bool_]) -> str:
    """``name[i]`` (or ``name[i, j]``, or plain ``name`` for a scalar) of the first bad element."""
    if arr.ndim == 0:
        return name
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    inside = ", ".join(str(i) for i in index)
    return f"{name}[{inside}]"


def _first_index(arr: npt.NDArray[np.generic], bad: npt.NDArray[np.bool_]) -> int | str | None:
    if arr.ndim == 0:
        return None
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    return index[0] if len(index) == 1 else ", ".join(str(i) for i in index)


def as_float(name: str, value: ArrayLike) -> FloatArray:
    """``value`` as a float64 array; a non-numeric value is an InputError naming ``name``."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"{name}: {value!r} is not numeric", field=name, expected="numbers"
        ) from exc
    return arr


def check(
    name: str,
    arr: FloatArray,
    *,
    lower: float | None = None,
    lower_open: bool = False,
    upper: float | None = None,
    upper_open: bool = False,
    allow_inf: bool = False,
    expected: str,
) -> FloatArray:
    """Raise one InputError naming ``name`` and the first offending index, else return ``arr``."""
    # one pass per bound: a comparison with NaN is False, so NaN fails every "ok" test
    lo = -np.inf if lower is None else lower
    hi = np.inf if upper is None else upper
    ok = (arr > lo) if (lower_open or lower is None) else (arr >= lo)
    if upper is None and allow_inf:
        ok &= arr <= hi
    else:
        ok &= (arr < hi) if (upper_open or upper is None) else (arr <= hi)
    if lower is None and not allow_inf:
        ok &= arr > -np.inf
    if not ok.all():
        bad = ~ok
        where = _where(name, arr, bad)
        value = arr[tuple(np.argwhere(bad)[0])] if arr.ndim else arr[()]
        raise InputError(
            f"{where}: {float(value)!r} is invalid; expected {expected}",
            field=name,
            row=_first_index(arr, bad),
            expected=expected,
        )
    return arr


def check_integral(name: str, arr: FloatArray, *, expected: str) -> FloatArray:
    """Non-negative whole numbers."""
    check(name, arr, lower=0.0, expected=expected)
    bad = arr != np.floor(arr)
    if bad.any():
        where = _where(name, arr, bad)
        raise InputError(
            f"{where}: not a whole number; expected {expected}",
            field=name,
            row=_first_index(arr, bad),
            expected=expected,
        )
    return arr


def broadcast(**arrays: FloatArray) -> tuple[tuple[int, ...], dict[str, FloatArray]]:
    """Broadcast named arrays to one shape; flat contiguous copies plus the shape.

    Mismatched shapes raise an InputError listing each argument's shape."""
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrays.values()))
    except ValueError as exc:
        shapes = ", ".join(f"{k}{tuple(v.shape)}" for k, v in arrays.items() if v.ndim)
        first = next(k for k, v in arrays.items() if v.ndim)
        raise InputError(
            f"shapes do not broadcast together: {shapes}",
            field=first,
            expected="scalars or arrays of broadcast-compatible shapes",
        ) from exc
    size = int(np.prod(shape, dtype=np.int64))
    flat: dict[str, FloatArray] = {}
    for k, v in arrays.items():
        if v.shape == shape:
            flat[k] = np.ascontiguousarray(v, dtype=np.float64).reshape(-1)
        elif v.size == 1:
            flat[k] = np.full(size, v.reshape(-1)[0], dtype=np.float64)
        else:
            flat[k] = np.ascontiguousarray(np.broadcast_to(v, shape), dtype=np.float64).reshape(-1)
    return shape, flat
