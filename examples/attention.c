/*
 * Example: one causal single-head attention step, as a decoder layer runs
 * it over a chunk of T tokens that starts at position P0 of the context.
 *
 *   1. RoPE: rotate the query and key vectors by their positions
 *      (simdnn_rope_f32, rotate-half convention as in GPT-NeoX/LLaMA-HF);
 *   2. scores S[i][j] = q_i . k_j / sqrt(d) for keys j <= i (causal), and
 *      -inf for masked keys; query row PAD_ROW is a padding token whose
 *      every key is masked;
 *   3. masked softmax over each row (simdnn_softmax_f32 with
 *      SIMDNN_SOFTMAX_MASKED_ROW_ZERO: the all-masked row becomes zeros,
 *      instead of NaN, so it contributes nothing downstream; masked keys
 *      get exactly 0);
 *   4. output O = P V.
 * Everything is recomputed naively in double and compared.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <simdnn/simdnn.h>

/* The larger of two numbers (never NaN here). Not fmax(): GCC 12 for
 * aarch64 crashes vectorizing fmax reductions (internal compiler error in
 * vect_transform_reduction). */
static double max_of(double a, double b) { return a > b ? a : b; }

enum { T = 9, D = 32, P0 = 1000, PAD_ROW = 4 };
static const double rope_base = 10000.0;

static float q[T][D], k[T][D], v[T][D], s[T][T], o[T][D];

static double uniform(unsigned *state)
{
    *state = *state * 1103515245u + 12345u;
    return ((*state >> 8) & 0xFFFF) / 32768.0 - 1.0;
}

/* Naive RoPE of one vector at position pos, rotate-half pairs. */
static void rope_naive(const float *x, double *out, size_t pos)
{
    for (int j = 0; j < D / 2; j++) {
        double w = pow(rope_base, -2.0 * j / D), a = (double)pos * w;
        double u = x[j], t = x[j + D / 2];
        out[j] = u * cos(a) - t * sin(a);
        out[j + D / 2] = u * sin(a) + t * cos(a);
    }
}

static int masked(int i, int j) { return j > i || i == PAD_ROW; }

int main(void)
{
    unsigned seed = 7;
    for (int t = 0; t < T; t++)
        for (int j = 0; j < D; j++) {
            q[t][j] = (float)uniform(&seed);
            k[t][j] = (float)uniform(&seed);
            v[t][j] = (float)uniform(&seed);
        }
    /* The naive path keeps its own copies (RoPE works in place). */
    double qr[T][D], kr[T][D];
    for (int t = 0; t < T; t++) {
        rope_naive(q[t], qr[t], P0 + t);
        rope_naive(k[t], kr[t], P0 + t);
    }

    /* 1. RoPE on queries and keys: T tokens x 1 head x D, in place. */
    if (simdnn_rope_f32(&q[0][0], T, 1, D, D, P0, rope_base,
                        SIMDNN_ROPE_HALF) != SIMDNN_SUCCESS ||
        simdnn_rope_f32(&k[0][0], T, 1, D, D, P0, rope_base,
                        SIMDNN_ROPE_HALF) != SIMDNN_SUCCESS) {
        printf("rope failed\n");
        return 1;
    }

    /* 2. Scaled scores with the causal and padding masks. */
    const float scale = 1.0f / sqrtf((float)D);
    for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++) {
            float dot = 0.0f;
            for (int c = 0; c < D; c++)
                dot += q[i][c] * k[j][c];
            s[i][j] = masked(i, j) ? -INFINITY : dot * scale;
        }

    /* 3. Row softmax in place; the padding row becomes all zeros. */
    simdnn_status st = simdnn_softmax_f32(&s[0][0], &s[0][0], T, T, T, T,
                                          SIMDNN_SOFTMAX_MASKED_ROW_ZERO);
    if (st != SIMDNN_SUCCESS) {
        printf("softmax failed: %s\n", simdnn_status_string(st));
        return 1;
    }

    /* 4. O = P V. */
    for (int i = 0; i < T; i++)
        for (int c = 0; c < D; c++) {
            float acc = 0.0f;
            for (int j = 0; j < T; j++)
                acc += s[i][j] * v[j][c];
            o[i][c] = acc;
        }

    /* The naive step in double. */
    int bad = 0;
    double worst_p = 0.0, worst_o = 0.0;
    for (int i = 0; i < T; i++) {
        double p[T], m = -INFINITY, sum = 0.0;
        for (int j = 0; j < T; j++) {
            double dot = 0.0;
            for (int c = 0; c < D; c++)
                dot += qr[i][c] * kr[j][c];
            p[j] = masked(i, j) ? -INFINITY : dot / sqrt((double)D);
            m = max_of(m, p[j]);
        }
        for (int j = 0; j < T; j++) {
            p[j] = masked(i, j) ? 0.0 : exp(p[j] - m);
            sum += p[j];
        }
        for (int j = 0; j < T; j++) {
            p[j] = i == PAD_ROW ? 0.0 : p[j] / sum;
            /* masked keys (and the whole padding row) are exactly 0 */
            if (masked(i, j) && s[i][j] != 0.0f)
                bad++;
            worst_p = max_of(worst_p, fabs(s[i][j] - p[j]));
        }
        for (int c = 0; c < D; c++) {
            double want = 0.0;
            for (int j = 0; j < T; j++)
                want += p[j] * v[j][c];
            if (i == PAD_ROW && o[i][c] != 0.0f)
                bad++;
            worst_o = max_of(worst_o, fabs(o[i][c] - want));
        }
    }
    /* Float dot products over D = 32 terms of magnitude <= 1 after the
     * rotation: 1e-5 bounds the float rounding of the whole step. */
    if (worst_p > 1e-5 || worst_o > 1e-5)
        bad++;
    printf("attention step: %d tokens at positions %d..%d, head_dim %d, "
           "softmax on %s; max |P - naive| %.2e, max |O - naive| %.2e, "
           "padding row all zero: %s\n",
           T, P0, P0 + T - 1, D,
           simdnn_isa_name(simdnn_family_isa(SIMDNN_FAMILY_SOFTMAX)), worst_p,
           worst_o, o[PAD_ROW][0] == 0.0f ? "yes" : "no");
    printf("%s\n", bad ? "FAILED" : "ok");
    return bad != 0;
}
