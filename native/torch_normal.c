/*
 * torch's CPU randn fill for float32 as a Node addon, to the bit:
 * - uniform24: mt19937 draws turned into (x & 0xffffff) * 2^-24, on the generator state that
 *   src/noise/mt19937.ts owns (shared typed arrays, so a stream continues across calls);
 * - boxMuller16: torch's 16-wide Box-Muller transform (normal_fill_16_AVX2 with avx_mathfun's
 *   Cephes log and sincos). On CPUs with AVX2 and FMA it runs 8 lanes at once with the same
 *   intrinsics torch uses; elsewhere a scalar copy with fmaf (correctly rounded, so the same bits).
 * - sesSample, sesMoments: SES's per-generation arithmetic (src/strategies/ses.ts), the same bits.
 * - mtSkip: skips draws of the same generator state (evolution's coordinator skips whole buffers).
 * - numpyNormals, sphereNeighbour: zero-order search's normals and neighbours, the same bits.
 * Built with -ffp-contract=off so no operation is fused except where the reference fuses it.
 */
#include <math.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
/* The AVX2 path below uses GCC/Clang extensions (target attributes, __builtin_cpu_supports), so
   MSVC (which defines neither __x86_64__ nor __GNUC__) builds the scalar path only. */
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define HAVE_X86 1
#include <immintrin.h>
#endif

/* Force-inlined static functions, in each compiler's words (inlining changes no result). */
#if defined(_MSC_VER) && !defined(__clang__)
#define ALWAYS_INLINE static __forceinline
#elif defined(__GNUC__) || defined(__clang__)
#define ALWAYS_INLINE static inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE static inline
#endif

/* MSVC's C before /std:c11 knows `restrict` only as __restrict. */
#if defined(_MSC_VER) && !defined(__clang__) && (!defined(__STDC_VERSION__) || __STDC_VERSION__ < 199901L)
#define restrict __restrict
#endif

static inline float from_bits(uint32_t b) { float f; memcpy(&f, &b, 4); return f; }
static inline uint32_t to_bits(float f) { uint32_t b; memcpy(&b, &f, 4); return b; }

/* Constants are double literals rounded to float, exactly as Math.fround rounds them in the JS. */
#define F(x) ((float)(x))

ALWAYS_INLINE float log_f32(float v) {
  if (v < F(1.17549435e-38)) v = F(1.17549435e-38);
  uint32_t bits = to_bits(v);
  float e = (float)((int32_t)((bits >> 23) & 0xff) - 127 + 1);
  float x = from_bits((bits & ~0x7f800000u) | 0x3f000000u);
  int small = x < F(0.707106781186547524);
  float tmp = small ? x : 0.0f;
  e -= small ? 1.0f : 0.0f;
  x = (x - 1.0f) + tmp;
  float z = x * x;
  float y = F(7.0376836292e-2);
  y = fmaf(y, x, F(-1.1514610310e-1));
  y = fmaf(y, x, F(1.1676998740e-1));
  y = fmaf(y, x, F(-1.2420140846e-1));
  y = fmaf(y, x, F(1.4249322787e-1));
  y = fmaf(y, x, F(-1.6668057665e-1));
  y = fmaf(y, x, F(2.0000714765e-1));
  y = fmaf(y, x, F(-2.4999993993e-1));
  y = fmaf(y, x, F(3.3333331174e-1));
  y = y * x;
  y = fmaf(y, z, e * F(-2.12194440e-4));
  y = fmaf(-z, 0.5f, y);
  x = x + y;
  return fmaf(e, F(0.693359375), x);
}

ALWAYS_INLINE void sincos_f32(float angle, float *sin_out, float *cos_out) {
  int negative = (to_bits(angle) >> 31) != 0;
  float x = fabsf(angle);
  int32_t j = (int32_t)(x * F(1.27323954473516));
  j = (j + 1) & ~1;
  float y = (float)j;
  int swap_sin = (j & 4) != 0;
  int use_poly = (j & 2) == 0;
  x = fmaf(y, F(-0.78515625), x);
  x = fmaf(y, F(-2.4187564849853515625e-4), x);
  x = fmaf(y, F(-3.77489497744594108e-8), x);
  int neg_cos = ((~(j - 2)) & 4) != 0;
  int neg_sin = negative != swap_sin;
  float z = x * x;
  float yc = F(2.443315711809948e-5);
  yc = fmaf(yc, z, F(-1.388731625493765e-3));
  yc = fmaf(yc, z, F(4.166664568298827e-2));
  yc = fmaf(yc * z, z, -(z * 0.5f)) + 1.0f;
  float ys = F(-1.9515295891e-4);
  ys = fmaf(ys, z, F(8.3321608736e-3));
  ys = fmaf(ys, z, F(-1.6666654611e-1));
  ys = fmaf(ys * z, x, x);
  float s = use_poly ? ys : yc;
  float c = use_poly ? yc : ys;
  *sin_out = neg_sin ? -s : s;
  *cos_out = neg_cos ? -c : c;
}

static void blocks_scalar(float *d, size_t count) {
  const float two_pi = F(6.283185307179586);
  for (size_t b = 0; b < count; b++, d += 16) {
    for (int j = 0; j < 8; j++) {
      float radius = sqrtf(-2.0f * log_f32(1.0f - d[j]));
      float s, c;
      sincos_f32(two_pi * d[j + 8], &s, &c);
      d[j] = radius * c;
      d[j + 8] = radius * s;
    }
  }
}

#ifdef HAVE_X86
/* The 8-lane forms of log_f32 and sincos_f32 above, operation for operation. */
#define AVX2 __attribute__((target("avx2,fma"), always_inline)) static inline
#define PS(x) _mm256_set1_ps(F(x))
#define PI32(x) _mm256_set1_epi32(x)

AVX2 __m256 log8(__m256 v) {
  v = _mm256_max_ps(v, PS(1.17549435e-38));
  __m256i bits = _mm256_castps_si256(v);
  __m256i exponent = _mm256_sub_epi32(_mm256_and_si256(_mm256_srli_epi32(bits, 23), PI32(0xff)), PI32(126));
  __m256 e = _mm256_cvtepi32_ps(exponent);
  __m256 x = _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(bits, PI32(~0x7f800000)), PI32(0x3f000000)));
  __m256 small = _mm256_cmp_ps(x, PS(0.707106781186547524), _CMP_LT_OQ);
  __m256 tmp = _mm256_and_ps(small, x);
  e = _mm256_sub_ps(e, _mm256_and_ps(small, PS(1.0)));
  x = _mm256_add_ps(_mm256_sub_ps(x, PS(1.0)), tmp);
  __m256 z = _mm256_mul_ps(x, x);
  __m256 y = PS(7.0376836292e-2);
  y = _mm256_fmadd_ps(y, x, PS(-1.1514610310e-1));
  y = _mm256_fmadd_ps(y, x, PS(1.1676998740e-1));
  y = _mm256_fmadd_ps(y, x, PS(-1.2420140846e-1));
  y = _mm256_fmadd_ps(y, x, PS(1.4249322787e-1));
  y = _mm256_fmadd_ps(y, x, PS(-1.6668057665e-1));
  y = _mm256_fmadd_ps(y, x, PS(2.0000714765e-1));
  y = _mm256_fmadd_ps(y, x, PS(-2.4999993993e-1));
  y = _mm256_fmadd_ps(y, x, PS(3.3333331174e-1));
  y = _mm256_mul_ps(y, x);
  y = _mm256_fmadd_ps(y, z, _mm256_mul_ps(e, PS(-2.12194440e-4)));
  y = _mm256_fnmadd_ps(z, PS(0.5), y);
  x = _mm256_add_ps(x, y);
  return _mm256_fmadd_ps(e, PS(0.693359375), x);
}

AVX2 void sincos8(__m256 angle, __m256 *sin_out, __m256 *cos_out) {
  const __m256 sign_bit = _mm256_castsi256_ps(PI32((int)0x80000000u));
  __m256 negative = _mm256_and_ps(angle, sign_bit);
  __m256 x = _mm256_andnot_ps(sign_bit, angle);
  __m256i j = _mm256_cvttps_epi32(_mm256_mul_ps(x, PS(1.27323954473516)));
  j = _mm256_and_si256(_mm256_add_epi32(j, PI32(1)), PI32(~1));
  __m256 y = _mm256_cvtepi32_ps(j);
  __m256 swap_sin = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_and_si256(j, PI32(4)), 29));
  __m256 use_poly = _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(j, PI32(2)), _mm256_setzero_si256()));
  x = _mm256_fmadd_ps(y, PS(-0.78515625), x);
  x = _mm256_fmadd_ps(y, PS(-2.4187564849853515625e-4), x);
  x = _mm256_fmadd_ps(y, PS(-3.77489497744594108e-8), x);
  __m256 neg_cos = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_andnot_si256(_mm256_sub_epi32(j, PI32(2)), PI32(4)), 29));
  __m256 neg_sin = _mm256_xor_ps(negative, swap_sin);
  __m256 z = _mm256_mul_ps(x, x);
  __m256 yc = PS(2.443315711809948e-5);
  yc = _mm256_fmadd_ps(yc, z, PS(-1.388731625493765e-3));
  yc = _mm256_fmadd_ps(yc, z, PS(4.166664568298827e-2));
  __m256 minus_half_z = _mm256_xor_ps(_mm256_mul_ps(z, PS(0.5)), sign_bit);
  yc = _mm256_add_ps(_mm256_fmadd_ps(_mm256_mul_ps(yc, z), z, minus_half_z), PS(1.0));
  __m256 ys = PS(-1.9515295891e-4);
  ys = _mm256_fmadd_ps(ys, z, PS(8.3321608736e-3));
  ys = _mm256_fmadd_ps(ys, z, PS(-1.6666654611e-1));
  ys = _mm256_fmadd_ps(_mm256_mul_ps(ys, z), x, x);
  __m256 s = _mm256_blendv_ps(yc, ys, use_poly);
  __m256 c = _mm256_blendv_ps(ys, yc, use_poly);
  *sin_out = _mm256_xor_ps(s, neg_sin);
  *cos_out = _mm256_xor_ps(c, neg_cos);
}

__attribute__((target("avx2,fma"))) static void blocks_avx2(float *d, size_t count) {
  for (size_t b = 0; b < count; b++, d += 16) {
    __m256 u1 = _mm256_loadu_ps(d);
    __m256 u2 = _mm256_loadu_ps(d + 8);
    __m256 radius = _mm256_sqrt_ps(_mm256_mul_ps(PS(-2.0), log8(_mm256_sub_ps(PS(1.0), u1))));
    __m256 s, c;
    sincos8(_mm256_mul_ps(PS(6.283185307179586), u2), &s, &c);
    _mm256_storeu_ps(d, _mm256_mul_ps(radius, c));
    _mm256_storeu_ps(d + 8, _mm256_mul_ps(radius, s));
  }
}

static int has_avx2_fma(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#else
/* Other CPUs: the scalar transform only. */
static void blocks_avx2(float *d, size_t count) { blocks_scalar(d, count); }
static int has_avx2_fma(void) { return 0; }
#endif

/* mt19937 (as in src/noise/mt19937.ts): regenerates the 624 words of `state` and their tempered
   outputs in `out`. */
#define MT_N 624
#define MT_M 397
/* The state's recurrence alone, branch-free so that it vectorises (skipping draws needs no output);
   the body is compiled twice, for AVX2 where the CPU has it (twice the lanes) and for any x86-64. */
#define TWIST_STATE_BODY \
  int k = 0; \
  for (; k < MT_N - MT_M; k++) { \
    uint32_t y = (mt[k] & 0x80000000u) | (mt[k + 1] & 0x7fffffffu); \
    mt[k] = mt[k + MT_M] ^ (y >> 1) ^ ((0u - (y & 1u)) & 0x9908b0dfu); \
  } \
  for (; k < MT_N - 1; k++) { \
    uint32_t y = (mt[k] & 0x80000000u) | (mt[k + 1] & 0x7fffffffu); \
    mt[k] = mt[k + MT_M - MT_N] ^ (y >> 1) ^ ((0u - (y & 1u)) & 0x9908b0dfu); \
  } \
  uint32_t y = (mt[MT_N - 1] & 0x80000000u) | (mt[0] & 0x7fffffffu); \
  mt[MT_N - 1] = mt[MT_M - 1] ^ (y >> 1) ^ ((0u - (y & 1u)) & 0x9908b0dfu);

static void twist_state(uint32_t *restrict mt) { TWIST_STATE_BODY }
#ifdef HAVE_X86
__attribute__((target("avx2"))) static void twist_state_avx2(uint32_t *restrict mt) { TWIST_STATE_BODY }
#else
static void twist_state_avx2(uint32_t *restrict mt) { twist_state(mt); }
#endif

static void twist(uint32_t *mt, uint32_t *out) {
  twist_state(mt);
  for (int i = 0; i < MT_N; i++) {
    uint32_t v = mt[i];
    v ^= v >> 11;
    v ^= (v << 7) & 0x9d2c5680u;
    v ^= (v << 15) & 0xefc60000u;
    v ^= v >> 18;
    out[i] = v;
  }
}

static int typed_array(napi_env env, napi_value value, napi_typedarray_type want, void **data, size_t *length) {
  napi_typedarray_type type;
  return napi_get_typedarray_info(env, value, &type, length, data, NULL, NULL) == napi_ok && type == want;
}

/* uniform24(state: Uint32Array(624), out: Uint32Array(624), pos, dest: Float32Array): fills dest
   with torch's float uniforms from the generator and returns the new pos. */
static napi_value uniform24(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint32_t *mt, *out;
  float *dest;
  size_t mt_len, out_len, n;
  uint32_t pos;
  if (argc < 4 || !typed_array(env, argv[0], napi_uint32_array, (void **)&mt, &mt_len) ||
      !typed_array(env, argv[1], napi_uint32_array, (void **)&out, &out_len) ||
      napi_get_value_uint32(env, argv[2], &pos) != napi_ok ||
      !typed_array(env, argv[3], napi_float32_array, (void **)&dest, &n) ||
      mt_len != MT_N || out_len != MT_N || pos > MT_N) {
    napi_throw_type_error(env, NULL, "uniform24 expects (Uint32Array(624), Uint32Array(624), pos <= 624, Float32Array)");
    return NULL;
  }
  for (size_t i = 0; i < n;) {
    if (pos >= MT_N) {
      twist(mt, out);
      pos = 0;
    }
    /* a run of the tempered outputs at once (the loop vectorises); the factor is 2^-24 exactly,
       in decimal because older MSVC C compilers read no hex float literal (0x1p-24f) */
    size_t run = MT_N - pos < n - i ? MT_N - pos : n - i;
    for (size_t j = 0; j < run; j++) dest[i + j] = (float)(out[pos + j] & 0xffffffu) * 5.9604644775390625e-8f;
    i += run;
    pos += (uint32_t)run;
  }
  napi_value result;
  napi_create_uint32(env, pos, &result);
  return result;
}

/* mtSkip(state, out, pos, n): drops the next n draws of the generator (as MT19937.skip) and
   returns the new pos; whole buffers are twisted, not tempered. Evolution skips the mutation noise
   of every generation on the coordinator this way (about 2 million draws a generation). */
static int use_avx2 = 0;

static napi_value mt_skip(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint32_t *mt, *out;
  size_t mt_len, out_len;
  uint32_t pos;
  double count;
  if (argc < 4 || !typed_array(env, argv[0], napi_uint32_array, (void **)&mt, &mt_len) ||
      !typed_array(env, argv[1], napi_uint32_array, (void **)&out, &out_len) ||
      napi_get_value_uint32(env, argv[2], &pos) != napi_ok || napi_get_value_double(env, argv[3], &count) != napi_ok ||
      mt_len != MT_N || out_len != MT_N || pos > MT_N || !(count >= 0 && count <= 9007199254740991.0)) {
    napi_throw_type_error(env, NULL, "mtSkip expects (Uint32Array(624), Uint32Array(624), pos <= 624, 0 <= n <= 2^53 - 1)");
    return NULL;
  }
  uint64_t n = (uint64_t)count;
  uint64_t left = MT_N - pos;
  if (n <= left) {
    pos += (uint32_t)n;
  } else {
    uint64_t rest = n - left;
    if (use_avx2) {
      for (; rest > MT_N; rest -= MT_N) twist_state_avx2(mt);
    } else {
      for (; rest > MT_N; rest -= MT_N) twist_state(mt);
    }
    twist(mt, out);
    pos = (uint32_t)rest;
  }
  napi_value result;
  napi_create_uint32(env, pos, &result);
  return result;
}


/* boxMuller16(values: Float32Array): transforms every whole 16-value block in place. */
static napi_value box_muller16(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  size_t length;
  void *data;
  if (argc < 1 || !typed_array(env, argv[0], napi_float32_array, &data, &length)) {
    napi_throw_type_error(env, NULL, "boxMuller16 expects a Float32Array");
    return NULL;
  }
  if (use_avx2) blocks_avx2((float *)data, length / 16);
  else blocks_scalar((float *)data, length / 16);
  return NULL;
}

/* SES (src/strategies/ses.ts) arithmetic, the same float32/float64 operations in the same order as
   its JavaScript, so the same bits: float32 products and sums are correctly rounded either way, and
   the moments are taken in float64 as the JavaScript takes them. */

/* sesSample(samples: Float32Array(rows x D) of normals, mu, sigma2, std: Float32Array(D), floor):
   std = sqrt(max(sigma2, floor)); every row z -> mu + z * std, in place. */
static napi_value ses_sample(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  float *samples, *mu, *sigma2, *std;
  size_t n, d, d2, d3;
  double floor_value;
  if (argc < 5 || !typed_array(env, argv[0], napi_float32_array, (void **)&samples, &n) ||
      !typed_array(env, argv[1], napi_float32_array, (void **)&mu, &d) ||
      !typed_array(env, argv[2], napi_float32_array, (void **)&sigma2, &d2) ||
      !typed_array(env, argv[3], napi_float32_array, (void **)&std, &d3) ||
      napi_get_value_double(env, argv[4], &floor_value) != napi_ok ||
      d == 0 || d2 != d || d3 != d || n % d != 0) {
    napi_throw_type_error(env, NULL, "sesSample expects (Float32Array(rows x D), Float32Array(D) x 3, floor)");
    return NULL;
  }
  const float fl = (float)floor_value;
  for (size_t i = 0; i < d; i++) {
    const float v = sigma2[i];
    /* Math.max(v, floor): NaN if v is NaN */
    std[i] = sqrtf(v != v ? v : (v > fl ? v : fl));
  }
  for (size_t o = 0; o < n; o += d) {
    float *restrict row = samples + o;
    for (size_t i = 0; i < d; i++) {
      const float p = row[i] * std[i];
      row[i] = mu[i] + p;
    }
  }
  return NULL;
}

/* sesMoments(rows: Float32Array(D)[], mu, sigma2: Float32Array(D), jitter): mu = the rows' float32
   mean (summed in row order); with two rows or more, sigma2 = float32(float64 sample variance) +
   jitter. */
static napi_value ses_moments(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  float *mu, *sigma2;
  size_t d, d2;
  uint32_t k = 0;
  double jitter_value;
  bool is_array = false;
  if (argc < 4 || napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, argv[0], &k) != napi_ok || k == 0 || k > 1024 ||
      !typed_array(env, argv[1], napi_float32_array, (void **)&mu, &d) ||
      !typed_array(env, argv[2], napi_float32_array, (void **)&sigma2, &d2) || d2 != d ||
      napi_get_value_double(env, argv[3], &jitter_value) != napi_ok) {
    napi_throw_type_error(env, NULL, "sesMoments expects (Float32Array(D)[1..1024], Float32Array(D), Float32Array(D), jitter)");
    return NULL;
  }
  const float *rows[1024];
  for (uint32_t m = 0; m < k; m++) {
    napi_value row;
    size_t length;
    if (napi_get_element(env, argv[0], m, &row) != napi_ok || !typed_array(env, row, napi_float32_array, (void **)&rows[m], &length) || length != d) {
      napi_throw_type_error(env, NULL, "sesMoments: every row must be a Float32Array of the same length as mu");
      return NULL;
    }
  }
  /* Row by row over chunks of the band, so the inner loops run along i (and vectorise); every
     value still sums its rows in order 0..k-1, as the JavaScript does. */
  enum { CHUNK = 512 };
  double mean[CHUNK], ss[CHUNK];
  const float kf = (float)k;
  const float jitter = (float)jitter_value;
  for (size_t i0 = 0; i0 < d; i0 += CHUNK) {
    const size_t n = d - i0 < CHUNK ? d - i0 : CHUNK;
    float *restrict mu_c = mu + i0;
    memcpy(mu_c, rows[0] + i0, n * sizeof(float));
    for (uint32_t m = 1; m < k; m++) {
      const float *restrict row = rows[m] + i0;
      for (size_t j = 0; j < n; j++) mu_c[j] = mu_c[j] + row[j];
    }
    for (size_t j = 0; j < n; j++) mu_c[j] = mu_c[j] / kf;
    if (k < 2) continue;
    for (size_t j = 0; j < n; j++) mean[j] = 0;
    for (uint32_t m = 0; m < k; m++) {
      const float *restrict row = rows[m] + i0;
      for (size_t j = 0; j < n; j++) mean[j] += (double)row[j];
    }
    for (size_t j = 0; j < n; j++) {
      mean[j] /= (double)k;
      ss[j] = 0;
    }
    for (uint32_t m = 0; m < k; m++) {
      const float *restrict row = rows[m] + i0;
      for (size_t j = 0; j < n; j++) {
        const double dev = (double)row[j] - mean[j];
        ss[j] += dev * dev;
      }
    }
    float *restrict sigma2_c = sigma2 + i0;
    for (size_t j = 0; j < n; j++) {
      const float var = (float)(ss[j] / (double)(k - 1));
      sigma2_c[j] = var + jitter;
    }
  }
  return NULL;
}

#ifdef __SIZEOF_INT128__
/* Zero-order search (src/noise/numpy-generator.ts, src/noise/sphere-neighbour.ts), the same bits:
   numpy's PCG64 and 256-layer ziggurat normals, and a neighbour on the pivot's sphere. Compilers
   without 128-bit integers (MSVC) leave them out; JavaScript then computes them. */
typedef unsigned __int128 u128;
#define PCG_MULT (((u128)0x2360ed051fc65da4ULL << 64) | 0x4385df649fccf645ULL)

static u128 limbs_to_u128(const double *limbs) {
  u128 v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 16) | (u128)(uint64_t)limbs[i];
  return v;
}

static uint64_t pcg64_next(u128 *state, u128 inc) {
  *state = *state * PCG_MULT + inc;
  uint64_t x = (uint64_t)(*state >> 64) ^ (uint64_t)*state;
  unsigned rot = (unsigned)(*state >> 122);
  return (x >> rot) | (x << ((64 - rot) & 63));
}

static double pcg64_double(u128 *state, u128 inc) { return (double)(pcg64_next(state, inc) >> 11) * (1.0 / 9007199254740992.0); }

/* numpyNormals(limbs: Float64Array(16): state then increment in 16-bit limbs, out: Float64Array,
   ki, wi, fi: Float64Array(256), r, invR): numpy's random_standard_normal into out; the state
   limbs are updated. */
static napi_value numpy_normals(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  double *limbs, *out, *ki, *wi, *fi;
  size_t nl, n, nk, nw, nf;
  double zr, zinv;
  if (argc < 7 || !typed_array(env, argv[0], napi_float64_array, (void **)&limbs, &nl) ||
      !typed_array(env, argv[1], napi_float64_array, (void **)&out, &n) ||
      !typed_array(env, argv[2], napi_float64_array, (void **)&ki, &nk) ||
      !typed_array(env, argv[3], napi_float64_array, (void **)&wi, &nw) ||
      !typed_array(env, argv[4], napi_float64_array, (void **)&fi, &nf) ||
      napi_get_value_double(env, argv[5], &zr) != napi_ok || napi_get_value_double(env, argv[6], &zinv) != napi_ok ||
      nl != 16 || nk != 256 || nw != 256 || nf != 256) {
    napi_throw_type_error(env, NULL, "numpyNormals expects (Float64Array(16), Float64Array, ki, wi, fi: Float64Array(256), r, invR)");
    return NULL;
  }
  u128 state = limbs_to_u128(limbs);
  const u128 inc = limbs_to_u128(limbs + 8);
  for (size_t i = 0; i < n; i++) {
    for (;;) {
      const uint64_t r = pcg64_next(&state, inc);
      const int idx = (int)(r & 0xff);
      const uint64_t rabs = (r >> 9) & 0x000fffffffffffffULL;
      double x = (double)rabs * wi[idx];
      if ((r >> 8) & 1) x = -x;
      if (rabs < (uint64_t)ki[idx]) { out[i] = x; break; }
      if (idx == 0) {
        for (;;) {
          const double xx = -zinv * log1p(-pcg64_double(&state, inc));
          const double yy = -log1p(-pcg64_double(&state, inc));
          if (yy + yy > xx * xx) { out[i] = ((rabs >> 8) & 1) ? -(zr + xx) : zr + xx; break; }
        }
        break;
      }
      if ((fi[idx - 1] - fi[idx]) * pcg64_double(&state, inc) + fi[idx] < exp(-0.5 * x * x)) { out[i] = x; break; }
    }
  }
  for (int i = 0; i < 8; i++) limbs[i] = (double)(uint64_t)((state >> (16 * i)) & 0xffff);
  return NULL;
}

/* sphereNeighbour(pivot: Float32Array, normals, u, r: Float64Array, threshold, out: Float32Array):
   the neighbour of src/noise/sphere-neighbour.ts, the same operations in the same order (the
   residual's norm through C's fma, correctly rounded as JavaScript's emulation). */
static napi_value sphere_neighbour(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  float *p, *out;
  double *v, *u, *r, t;
  size_t n, nv, nu, nr, no;
  if (argc < 6 || !typed_array(env, argv[0], napi_float32_array, (void **)&p, &n) ||
      !typed_array(env, argv[1], napi_float64_array, (void **)&v, &nv) ||
      !typed_array(env, argv[2], napi_float64_array, (void **)&u, &nu) ||
      !typed_array(env, argv[3], napi_float64_array, (void **)&r, &nr) ||
      napi_get_value_double(env, argv[4], &t) != napi_ok ||
      !typed_array(env, argv[5], napi_float32_array, (void **)&out, &no) ||
      nv != n || nu != n || nr != n || no != n) {
    napi_throw_type_error(env, NULL, "sphereNeighbour expects (Float32Array, three Float64Arrays and a threshold, Float32Array), all of one length");
    return NULL;
  }
  double S = 0;
  for (size_t i = 0; i < n; i++) S += (double)p[i] * (double)p[i];
  const double a = sqrt(S);
  const double an = a > 1e-12 ? a : 1e-12;
  for (size_t i = 0; i < n; i++) u[i] = (double)p[i] / an;
  double hi = 0, lo = 0;
  for (size_t i = 0; i < n; i++) {
    const double x = v[i] * u[i];
    const double s = hi + x;
    const double z = s - hi;
    lo += (hi - (s - z)) + (x - z);
    hi = s;
  }
  const double d = hi + lo;
  for (size_t i = 0; i < n; i++) r[i] = v[i] - d * u[i];
  double M = 0;
  for (size_t i = 0; i < n; i++) M = fma(r[i], r[i], M);
  const double m0 = sqrt(M);
  const double m = m0 > 1e-12 ? m0 : 1e-12;
  const double c = sqrt(1 - t * t);
  for (size_t i = 0; i < n; i++) out[i] = (float)(a * (t * u[i] + c * (r[i] / m)));
  return NULL;
}
#endif

static void export_function(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
  napi_set_named_property(env, exports, name, fn);
}

static napi_value init(napi_env env, napi_value exports) {
  if (getenv("SWEEP_NATIVE_SCALAR") == NULL) use_avx2 = has_avx2_fma();
  export_function(env, exports, "boxMuller16", box_muller16);
  export_function(env, exports, "uniform24", uniform24);
  export_function(env, exports, "mtSkip", mt_skip);
#ifdef __SIZEOF_INT128__
  export_function(env, exports, "numpyNormals", numpy_normals);
  export_function(env, exports, "sphereNeighbour", sphere_neighbour);
#endif
  export_function(env, exports, "sesSample", ses_sample);
  export_function(env, exports, "sesMoments", ses_moments);
  napi_value lanes;
  napi_create_uint32(env, use_avx2 ? 8 : 1, &lanes);
  napi_set_named_property(env, exports, "lanes", lanes);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
