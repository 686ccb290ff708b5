/*
 * Example: a sinusoidal position table cached by an engine and grown with
 * the context length during generation.
 *
 * The cache holds rows for positions [0, rows). When a sequence needs a
 * longer context it grows geometrically and fills only the new rows, with
 * simdnn_posenc_table_f32(..., position_offset = old rows, ...): the rows
 * already computed are kept, and because no kernel's result depends on
 * where a range starts, the grown table is bitwise the table a single
 * call would have produced. Each generated token then adds its row to its
 * embedding.
 *
 * Checked: bitwise equality with a one-call table, every value within the
 * documented 5.96e-8 of sin/cos of the double angle, and the embeddings.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <simdnn/simdnn.h>

/* The larger of two numbers (never NaN here). Not fmax(): GCC 12 for
 * aarch64 crashes vectorizing fmax reductions (internal compiler error in
 * vect_transform_reduction). */
static double max_of(double a, double b) { return a > b ? a : b; }

enum { D_MODEL = 64, PROMPT = 5, CONTEXT = 700 };

typedef struct posenc_cache {
    float *rows_data;
    size_t rows, capacity, d_model;
    int fills; /* simdnn calls made, for the report */
} posenc_cache;

/* Ensures rows for positions [0, positions); returns 0 on success. */
static int cache_reserve(posenc_cache *cache, size_t positions)
{
    if (positions <= cache->rows)
        return 0;
    size_t capacity = cache->capacity ? cache->capacity : 16;
    while (capacity < positions)
        capacity *= 2;
    if (capacity != cache->capacity) {
        float *grown = realloc(cache->rows_data,
                               capacity * cache->d_model * sizeof(float));
        if (grown == NULL)
            return -1;
        cache->rows_data = grown;
        cache->capacity = capacity;
    }
    /* Only the new rows: positions [rows, capacity). */
    size_t first = cache->rows;
    if (simdnn_posenc_table_f32(
            cache->rows_data + first * cache->d_model, capacity - first,
            cache->d_model, cache->d_model, first, SIMDNN_POSENC_DEFAULT_BASE,
            SIMDNN_POSENC_INTERLEAVED) != SIMDNN_SUCCESS)
        return -1;
    cache->rows = capacity;
    cache->fills++;
    return 0;
}

static const float *cache_row(const posenc_cache *cache, size_t position)
{
    return cache->rows_data + position * cache->d_model;
}

int main(void)
{
    posenc_cache cache = {NULL, 0, 0, D_MODEL, 0};
    static float embed[CONTEXT][D_MODEL], token[CONTEXT][D_MODEL];
    for (int t = 0; t < CONTEXT; t++)
        for (int j = 0; j < D_MODEL; j++)
            token[t][j] = embed[t][j] = (float)((t * 7 + j * 3) % 11) / 11.0f;

    /* The prompt, then one generated token at a time. */
    if (cache_reserve(&cache, PROMPT) != 0)
        return 1;
    for (int t = 0; t < PROMPT; t++)
        for (int j = 0; j < D_MODEL; j++)
            embed[t][j] += cache_row(&cache, t)[j];
    for (int t = PROMPT; t < CONTEXT; t++) {
        if (cache_reserve(&cache, (size_t)t + 1) != 0)
            return 1;
        for (int j = 0; j < D_MODEL; j++)
            embed[t][j] += cache_row(&cache, t)[j];
    }

    int bad = 0;
    /* Bitwise the table of one call. */
    float *once = malloc(cache.rows * D_MODEL * sizeof(float));
    if (once == NULL ||
        simdnn_posenc_table_f32(once, cache.rows, D_MODEL, D_MODEL, 0,
                                SIMDNN_POSENC_DEFAULT_BASE,
                                SIMDNN_POSENC_INTERLEAVED) != SIMDNN_SUCCESS)
        return 1;
    if (memcmp(once, cache.rows_data, cache.rows * D_MODEL * sizeof(float)))
        bad++;

    /* Against sin/cos of the double angle, and the embeddings. */
    double worst = 0.0;
    for (size_t p = 0; p < cache.rows; p++)
        for (int k = 0; k < D_MODEL / 2; k++) {
            double w = pow(SIMDNN_POSENC_DEFAULT_BASE, -2.0 * k / D_MODEL);
            double a = (double)p * w;
            worst = max_of(worst, fabs(cache_row(&cache, p)[2 * k] - sin(a)));
            worst =
                max_of(worst, fabs(cache_row(&cache, p)[2 * k + 1] - cos(a)));
        }
    if (worst > 5.96e-8)
        bad++;
    for (int t = 0; t < CONTEXT; t++)
        for (int j = 0; j < D_MODEL; j++)
            if (embed[t][j] != token[t][j] + cache_row(&cache, t)[j])
                bad++;

    printf(
        "posenc cache: context %d, d_model %d, grew to %zu rows in %d "
        "fills on %s; bitwise equal to one call: %s; max error %.2e "
        "(bound 5.96e-08)\n",
        CONTEXT, D_MODEL, cache.rows, cache.fills,
        simdnn_isa_name(simdnn_family_isa(SIMDNN_FAMILY_POSENC)),
        memcmp(once, cache.rows_data, cache.rows * D_MODEL * sizeof(float)) == 0
            ? "yes"
            : "no",
        worst);
    free(once);
    free(cache.rows_data);
    printf("%s\n", bad ? "FAILED" : "ok");
    return bad != 0;
}
