#!/usr/bin/env python3
"""Derives the exp polynomial of simdnn's softmax kernels (pure Python 3).

The kernels (kernels/softmax/scalar.c explains them step by step) compute
exp(d) for d = x - max <= 0 as 2^n * p(r), with n = round(d / ln2) and the
reduced argument r = d - n*ln2, |r| <= ln2/2 (plus a few ULPs of slack for
the rounding of n and the low part d_lo of d). The polynomial has the form

    p(r) = 1 + r*(c1 + r*(c2 + r*(c3 + r*(c4 + r*c5))))

evaluated as t = r*s, e = fma(t, q(r), s) with s = 2^n, which keeps the
leading 1 exact. This script

1. finds the minimax coefficients for the RELATIVE error
   (p(r) - e^r) / e^r on the interval by the Remez exchange algorithm
   (in double precision, ample for an error near 1e-7);
2. rounds them to float32 and prints them as C hex-float literals;
3. simulates the kernel's float32 arithmetic bit-exactly (fma with one
   rounding) on a dense set of reduced arguments, on the general form's
   whole chain d -> exp(d) for d in [ln(FLT_MIN), 0], and on the fast
   form's chain (x, m) -> exp(x - m) for row maxima up to 2^21, and prints
   the maximum relative errors against exp in double.

Usage: python3 tools/softmax_exp_poly.py [degree]   (default 5)
"""
import math
import struct
import sys

DEGREE = int(sys.argv[1]) if len(sys.argv) > 1 else 5
LN2 = math.log(2.0)
# |r| <= ln2/2 from round-to-nearest n, widened for the rounding of
# d*log2e inside the fma and for d_lo (|d_lo| <= 2^-18 for |d| < 128).
HALF = LN2 / 2 * (1 + 2**-12) + 2**-17
A, B = -HALF, HALF


def f32(x):
    """Round a double to the nearest float32 (ties to even)."""
    return struct.unpack('<f', struct.pack('<f', x))[0]


def f32_bits(x):
    return struct.unpack('<I', struct.pack('<f', x))[0]


def bits_f32(b):
    return struct.unpack('<f', struct.pack('<I', b & 0xFFFFFFFF))[0]


def f32_round_exact(s, err):
    """Round the exact value s + err (s double, err its tiny remainder,
    |err| <= ulp(s)/2) to float32 correctly."""
    r = f32(s)
    if err == 0.0 or r == s:
        return r
    # Neighbour of r on the side of s; s is a tie iff it is the midpoint.
    up = r < s
    b = f32_bits(r)
    if (r >= 0) == up:
        other = bits_f32(b + 1)
    else:
        other = bits_f32(b - 1)
    mid = (r + other) / 2  # exact in double
    if s != mid:
        return r
    # A tie in double: the remainder decides.
    return other if (err > 0) == (other > r) else r


def fmaf(a, b, c):
    """float32 fma: a*b + c rounded once (a, b, c float32 values)."""
    p = a * b  # exact: 24 + 24 bits fit a double
    s = p + c
    bb = s - p
    err = (p - (s - bb)) + (c - bb)
    return f32_round_exact(s, err)


def mulf(a, b):
    return f32(a * b)


def addf(a, b):
    s = a + b
    bb = s - a
    err = (a - (s - bb)) + (b - bb)
    return f32_round_exact(s, err)


def solve(m, v):
    """Gaussian elimination with partial pivoting."""
    n = len(v)
    m = [row[:] + [v[i]] for i, row in enumerate(m)]
    for col in range(n):
        piv = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[piv] = m[piv], m[col]
        for r in range(col + 1, n):
            f = m[r][col] / m[col][col]
            for c in range(col, n + 1):
                m[r][c] -= f * m[col][c]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        x[r] = (m[r][n] - sum(m[r][c] * x[c] for c in range(r + 1, n))) \
            / m[r][r]
    return x


def poly(c, r):
    acc = 0.0
    for ck in reversed(c):
        acc = acc * r + ck
    return 1.0 + r * acc


def rel_err(c, r):
    # (p(r) - e^r) / e^r with p(r) - 1 - (e^r - 1) to avoid cancellation.
    q = poly(c, r) - 1.0
    return (q - math.expm1(r)) / math.exp(r)


def sign(t):
    return 1.0 if t >= 0 else -1.0


def remez(degree, iters=30):
    """The error vanishes at r = 0 whatever the coefficients (p(0) = 1),
    so it is the weighted error |r| e^-r (q(r) - (e^r - 1)/r) of a degree
    (degree-1) q that alternates: rel_err * sign(r) is levelled."""
    k = degree + 1  # unknowns c1..c_degree and the levelled error E
    pts = [(A + B) / 2 + (B - A) / 2 * math.cos(math.pi * (k - 1 - i) /
                                                (k - 1))
           for i in range(k)]
    grid = [A + (B - A) * i / 20000 for i in range(20001)]
    c = None
    for _ in range(iters):
        rows, rhs = [], []
        for i, t in enumerate(pts):
            rows.append([t ** j for j in range(1, degree + 1)] +
                        [-((-1) ** i) * math.exp(t) * sign(t)])
            rhs.append(math.expm1(t))
        sol = solve(rows, rhs)
        c, _e = sol[:-1], sol[-1]
        # New reference: the extremum of each run of equal error sign.
        errs = [rel_err(c, t) * sign(t) for t in grid]
        runs, cur = [], None
        for t, e in zip(grid, errs):
            if e == 0.0:
                continue
            s = e > 0
            if cur is None or cur[0] != s:
                cur = [s, t, e]
                runs.append(cur)
            elif abs(e) > abs(cur[2]):
                cur[1], cur[2] = t, e
        while len(runs) > k:  # drop the smallest run at either end
            if abs(runs[0][2]) < abs(runs[-1][2]):
                runs.pop(0)
            else:
                runs.pop()
        if len(runs) < k:
            break
        pts = [r[1] for r in runs]
    return c


def hexf(x):
    """C hex-float literal of a float32 value, 6 hex digits of fraction."""
    if x == 0:
        return '0x0p+0f'
    m, e = math.frexp(abs(x))  # x = m * 2^e, m in [0.5, 1)
    m, e = m * 2, e - 1
    frac = round((m - 1) * 2 ** 24)
    return '%s0x1.%06Xp%+df' % ('-' if x < 0 else '', frac, e)


def kernel_poly(cf, r):
    """p(r) as the kernels evaluate it, with s = 1."""
    p = cf[-1]
    for ck in reversed(cf[:-1]):
        p = fmaf(p, r, ck)
    return fmaf(r, p, 1.0)


LOG2E = f32(1 / LN2)
LN2_HI = f32(LN2)
LN2_LO = f32(LN2 - LN2_HI)
MAGIC = f32(1.5 * 2.0 ** 23 + 127)
CUTOFF = f32(math.log(2.0 ** -126))  # ln(FLT_MIN), rounded to float


def kernel_exp(cf, d_hi, d_lo=0.0):
    """exp(d_hi + d_lo) exactly as the kernels compute it."""
    if d_hi < CUTOFF:
        return 0.0
    vn = fmaf(d_hi, LOG2E, MAGIC)
    n = addf(vn, -MAGIC)
    s = bits_f32(((f32_bits(vn) << 23) & 0xFFFFFFFF))
    r = fmaf(n, -LN2_HI, d_hi)
    r = fmaf(n, -LN2_LO, r)
    r = addf(r, d_lo)
    p = cf[-1]
    for ck in reversed(cf[:-1]):
        p = fmaf(p, r, ck)
    t = mulf(r, s)
    return fmaf(t, p, s)


def kernel_exp_fast(cf, x, m):
    """exp(x - m) as the kernels' fast form computes it (scalar.c steps
    3-6): the maximum folded into the reduction, no exact d."""
    lower = f32(m - 88.0)
    k = float(round(m / LN2_HI))
    bias = f32(MAGIC - k)
    corr = f32(k * LN2_LO - (m - k * LN2_HI))  # exact in double, rounded
    xc = lower if x < lower else x
    d_hi = addf(xc, -m)
    vn = fmaf(d_hi, LOG2E, MAGIC)
    s = bits_f32(((f32_bits(vn) << 23) & 0xFFFFFFFF))
    n_k = addf(vn, -bias)
    r = fmaf(n_k, -LN2_HI, xc)
    r = fmaf(n_k, -LN2_LO, r)
    r = addf(r, corr)
    p = cf[-1]
    for ck in reversed(cf[:-1]):
        p = fmaf(p, r, ck)
    t = mulf(r, s)
    return fmaf(t, p, s)


def main():
    c = remez(DEGREE)
    cf = [f32(x) for x in c]
    worst = max(abs(rel_err(c, A + (B - A) * i / 100000))
                for i in range(100001))
    print('degree %d on [%.9f, %.9f]' % (DEGREE, A, B))
    print('minimax relative error (exact coefficients): %.3e' % worst)
    for i, x in enumerate(cf, 1):
        print('#define SOFTMAX_EXP_C%d %s /* %.17g */' % (i, hexf(x), c[i - 1]))
    print('#define SOFTMAX_LOG2E %s' % hexf(LOG2E))
    print('#define SOFTMAX_LN2_HI %s' % hexf(LN2_HI))
    print('#define SOFTMAX_LN2_LO %s' % hexf(LN2_LO))
    print('#define SOFTMAX_MAGIC %s' % hexf(MAGIC))
    print('#define SOFTMAX_CUTOFF %s' % hexf(CUTOFF))

    # The float32 polynomial on the reduced range, every 2^-20.
    worst_r, at_r = 0.0, 0.0
    steps = int((B - A) * 2 ** 20)
    for i in range(steps + 1):
        r = f32(A + i * 2 ** -20)
        got = kernel_poly(cf, r)
        e = abs(got - math.exp(r)) / math.exp(r)
        if e > worst_r:
            worst_r, at_r = e, r
    print('float32 polynomial, max relative error %.3e at r=%.9g'
          % (worst_r, at_r))

    # The whole chain on d in [CUTOFF, 0]: dense near 0, then spread out,
    # plus d_lo at its extreme values for |d| near 2^k boundaries.
    worst_d, at_d = 0.0, 0.0
    ds = [f32(-i * 2 ** -16) for i in range(1 << 16)]
    ds += [f32(CUTOFF * i / 400000) for i in range(400001)]
    for d in ds:
        if d < CUTOFF:
            continue
        for lo in (0.0, 2.0 ** -18 if abs(d) >= 64 else 0.0,
                   -2.0 ** -19 if abs(d) >= 32 else 0.0):
            got = kernel_exp(cf, d, lo)
            want = math.exp(d + lo)
            e = abs(got - want) / want
            if e > worst_d:
                worst_d, at_d = e, d
    print('general form exp(d), d in [ln(FLT_MIN), 0]: max relative error '
          '%.3e at d=%.9g' % (worst_d, at_d))

    # The fast form for row maxima across its range |m| < 2^21.
    worst_f, at_f = 0.0, (0.0, 0.0)
    maxima = [0.0, 0.3, -0.7, 1.0, 5.5, 13.37, 40.1, 87.9, 200.25, -150.5,
              10000.125, 123456.78, 1.9e6, -2.0e6]
    for m in (f32(v) for v in maxima):
        for i in range(12001):
            x = f32(m + CUTOFF * i / 12000)
            if x > m:
                continue
            want = math.exp(x - m)  # x - m is exact in double here
            if want < 2.0 ** -126:
                continue
            got = kernel_exp_fast(cf, x, m)
            e = abs(got - want) / want
            if e > worst_f:
                worst_f, at_f = e, (x, m)
    print('fast form exp(x - m), |m| < 2^21: max relative error %.3e at '
          'x=%.9g, m=%.9g' % (worst_f, at_f[0], at_f[1]))


if __name__ == '__main__':
    main()
