#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz harnesses (tests/fuzz/corpus/).

Each harness reads its input as a stream of choices: the first byte picks
the ISA cap, the second the entry point. The seeds cover every cap and
entry point with a deterministic tail of bytes, so the fuzzer starts from
inputs that already reach every kernel. Rerun after changing a harness's
input format: python3 tests/fuzz/make_seeds.py

The other files of the corpus (named by their SHA-1) are the minimized
corpus of the fuzzing runs recorded in docs/hardening.md
(libFuzzer -merge=1 over the native and SIMDe runs); they are only read.
"""
import os
import random

OPS = {"softmax": 4, "posenc": 3, "batchnorm": 3}
ISAS = 4

here = os.path.dirname(os.path.abspath(__file__))
rng = random.Random(20261203)
for family, ops in OPS.items():
    folder = os.path.join(here, "corpus", family)
    os.makedirs(folder, exist_ok=True)
    for isa in range(ISAS):
        for op in range(ops):
            for variant in range(2):
                tail = bytes(rng.randrange(256) for _ in range(96 + 160 * variant))
                name = os.path.join(folder, f"seed-{isa}-{op}-{variant}")
                with open(name, "wb") as f:
                    f.write(bytes([isa, op]) + tail)
