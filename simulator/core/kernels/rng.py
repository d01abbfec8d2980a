"""Counter-based random numbers for the kernels.

Every random number is a pure function of ``(seed, stream, step, lane)``, so a run is
reproducible bit for bit whatever the thread count or the order particles are visited in,
and particle ``i`` of a batch sees exactly the numbers a single run with stream ``i`` sees.
The mixer is SplitMix64 (Steele, Lea and Flood 2014), applied twice over a key built from
the counters; uniforms take its top 53 bits.
"""

from __future__ import annotations

import math

import numpy as np

from ._jit import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53
_TWO_PI = 2.0 * math.pi


@njit(cache=True, nogil=True, inline="always")
def mix64(z):
    """SplitMix64 finaliser of a uint64."""
    z = (z + _GOLDEN)
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True, nogil=True, inline="always")
def key(seed, stream, step, lane):
    """A 64-bit key from four non-negative counters."""
    k = mix64(np.uint64(seed))
    k = mix64(k ^ np.uint64(stream))
    k = mix64(k ^ np.uint64(step))
    return mix64(k ^ np.uint64(lane))


@njit(cache=True, nogil=True, inline="always")
def uniform(k):
    """A uniform float in (0, 1] from a key (never 0, so log() is safe)."""
    return (float(k >> _S11) + 1.0) * _INV53


@njit(cache=True, nogil=True, inline="always")
def normal_pair(seed, stream, step):
    """Two independent standard normals (Box-Muller) for one particle and one step."""
    k = key(seed, stream, step, 0)
    u1 = uniform(k)
    u2 = uniform(mix64(k ^ _M1))
    r = math.sqrt(-2.0 * math.log(u1))
    a = _TWO_PI * u2
    return r * math.cos(a), r * math.sin(a)


@njit(cache=True, nogil=True)
def permutation(seed, epoch, n, out):
    """Fill ``out[:n]`` with a permutation of range(n) drawn for ``epoch`` (Fisher-Yates)."""
    for i in range(n):
        out[i] = i
    for i in range(n - 1, 0, -1):
        k = key(seed, 0x5EED, epoch, i)
        j = np.int64(k % np.uint64(i + 1))
        t = out[i]
        out[i] = out[j]
        out[j] = t
