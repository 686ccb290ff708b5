#!/usr/bin/env python3
"""Derives the exp polynomial of simdnn's softmax kernels (pure Python 3).

The kernels (kernels/softmax/scalar.c explains them step by step) compute
256*exp(d) for d <= 0 as 2^(n/8 + 8) * p(r), with n = round(8*d / ln2),
the reduced argument r = d - n*ln2/8, |r| <= ln2/16 (plus slack for the
rounding of n), and 2^(n/8 + 8) = 2^(floor(n/8) + 8) * T[n mod 8] built
from the exponent bits and an 8-entry table (the factor 256 keeps s
normal down to d = -93.1; softmax's normalization cancels it). The
polynomial has the form

    p(r) = 1 + r*(c1 + r*(c2 + r*c3))

evaluated as t = r*s, e = fma(t, q(r), s) with s = 2^(n/8 + 8), which keeps
the leading 1 exact. This script

1. finds the minimax coefficients for the RELATIVE error
   (p(r) - e^r) / e^r on the interval by the Remez exchange algorithm
   (in double precision, ample for an error near 1e-7);
2. rounds them to float32 and prints them as C hex-float literals;
3. simulates the kernel's float32 arithmetic bit-exactly (fma with one
   rounding) on a dense set of reduced arguments, on the general form's
   whole chain d -> exp(d) for d in [ln(FLT_MIN), 0], and on the fast
   form's chain (x, m) -> exp(x - m) for row maxima below 2^18, and
   prints the maximum relative errors against exp in double;
4. prints the table T as the kernels add it (softmax_pow2_entries).

Usage: python3 tools/softmax_exp_poly.py [degree]   (default 3)
"""
import math
import struct
import sys

DEGREE = int(sys.argv[1]) if len(sys.argv) > 1 else 3
LN2 = math.log(2.0)
# |r| <= ln2/16 from round-to-nearest n, widened for the rounding of
# d*LOG2E8 inside the fma, of d_hi (2^-18 for |d| < 128) and of r.
HALF = LN2 / 16 * (1 + 2**-12) + 2**-20
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


LOG2E8 = f32(8 / LN2)
LN2_8_HI = f32(LN2 / 8)
LN2_8_LO = f32(LN2 / 8 - LN2_8_HI)
MAGIC8 = f32(1.5 * 2.0 ** 23 + (127 + 8) * 8)
SCALE = 256.0  # the kernels' exp is 256*exp(d)
CUTOFF = f32(math.log(2.0 ** -126))  # ln(FLT_MIN), rounded to float
FAST_MAX = 2.0 ** 18
# T[j] = the mantissa bits of 2^(j/8), less j << 20 (see pow2_eighths).
TABLE = [(f32_bits(f32(2.0 ** (j / 8))) - 0x3F800000 - (j << 20)) &
         0xFFFFFFFF for j in range(8)]


def pow2_eighths(vn):
    """2^(n/8 + 8) from the bits of vn = MAGIC8 + n (scalar.c step 4): the
    bits shifted left by 20 put floor(n/8) + 135 in the exponent field
    and n mod 8 in its three lowest mantissa bits, which the table entry
    (indexed by those three bits) replaces with the mantissa of
    2^((n mod 8)/8)."""
    b = f32_bits(vn)
    return bits_f32((b << 20) + TABLE[b & 7])


def kernel_exp(cf, d_hi, d_lo=0.0):
    """256*exp(d_hi + d_lo) exactly as the kernels compute it."""
    if d_hi < CUTOFF:
        return 0.0
    vn = fmaf(d_hi, LOG2E8, MAGIC8)
    n = addf(vn, -MAGIC8)
    s = pow2_eighths(vn)
    r = fmaf(n, -LN2_8_HI, d_hi)
    r = fmaf(n, -LN2_8_LO, r)
    r = addf(r, d_lo)
    p = cf[-1]
    for ck in reversed(cf[:-1]):
        p = fmaf(p, r, ck)
    t = mulf(r, s)
    return fmaf(t, p, s)


def fast_args(m):
    """The per-row constants of the fast form (softmax.h softmax_row_for):
    the bias, the correction and the lower bound."""
    k = float(round(m / LN2_8_HI))
    bias = f32(MAGIC8 - k)
    assert bias == MAGIC8 - k and abs(k) + 1080 < 2 ** 23, m
    corr = f32(k * LN2_8_LO - (m - k * LN2_8_HI))  # exact in double
    lower = f32(m - 1080 * (LN2 / 8))
    return bias, corr, lower


def kernel_exp_fast(cf, x, m):
    """256*exp(x - m) as the kernels' fast form computes it (scalar.c
    steps 3-6): the maximum folded into the reduction."""
    bias, corr, lower = fast_args(m)
    xc = lower if x < lower else x
    d_hi = addf(xc, -m)
    vn = fmaf(d_hi, LOG2E8, MAGIC8)
    s = pow2_eighths(vn)
    n_k = addf(vn, -bias)
    r = fmaf(n_k, -LN2_8_HI, xc)
    r = addf(r, fmaf(n_k, -LN2_8_LO, corr))
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
    print('#define SOFTMAX_LOG2E8 %s' % hexf(LOG2E8))
    print('#define SOFTMAX_LN2_8_HI %s' % hexf(LN2_8_HI))
    print('#define SOFTMAX_LN2_8_LO %s' % hexf(LN2_8_LO))
    print('#define SOFTMAX_MAGIC8 %s' % hexf(MAGIC8))
    print('#define SOFTMAX_CUTOFF %s' % hexf(CUTOFF))
    print('softmax_pow2_entries: ' + ', '.join('0x%08Xu' % t for t in TABLE))

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
            want = SCALE * math.exp(d + lo)
            e = abs(got - want) / want
            if e > worst_d:
                worst_d, at_d = e, d
    print('general form exp(d), d in [ln(FLT_MIN), 0]: max relative error '
          '%.3e at d=%.9g' % (worst_d, at_d))

    # The fast form for row maxima across its range |m| < 2^18, where
    # 256*exp(x - m) is a normal float (x - m >= -93.1).
    worst_f, at_f = 0.0, (0.0, 0.0)
    maxima = [0.0, 0.3, -0.7, 1.0, 5.5, 13.37, 40.1, 87.9, 200.25, -150.5,
              1000.5, -4097.3, 10000.125, 123456.78, 262143.97, -262143.97,
              -262143.9, -262000.3, 261999.7]
    for m in (f32(v) for v in maxima):
        if kernel_exp_fast(cf, m, m) != SCALE:
            print('fast form: exp(m - m) is not 1 for m=%r' % m)
        for i in range(12001):
            x = f32(m - 93.1 * i / 12000)
            if x > m:
                continue
            want = SCALE * math.exp(x - m)  # x - m is exact in double
            if want < 2.0 ** -126:
                continue
            got = kernel_exp_fast(cf, x, m)
            e = abs(got - want) / want
            if e > worst_f:
                worst_f, at_f = e, (x, m)
        # Below the lower bound (and -Inf): exactly +0.
        for x in (f32(m - 93.6), f32(m - 1000.0), -3.0e38):
            if kernel_exp_fast(cf, x, m) != 0.0:
                print('fast form: exp(%r - %r) is not +0' % (x, m))
    print('fast form exp(x - m), |m| < 2^18: max relative error %.3e at '
          'x=%.9g, m=%.9g' % (worst_f, at_f[0], at_f[1]))


if __name__ == '__main__':
    main()
