/*
 * torch's 16-wide Box-Muller transform (normal_fill_16_AVX2 with avx_mathfun's Cephes log and
 * sincos), float32 to the bit, as a Node addon: the same operations as src/noise/float32-math.ts,
 * with the fused multiply-adds done by fmaf (correctly rounded, in hardware where the CPU has FMA)
 * instead of emulated in doubles. Built with -ffp-contract=off so no other operation is fused.
 */
#include <math.h>
#include <node_api.h>
#include <stdint.h>
#include <string.h>

static inline float from_bits(uint32_t b) { float f; memcpy(&f, &b, 4); return f; }
static inline uint32_t to_bits(float f) { uint32_t b; memcpy(&b, &f, 4); return b; }

/* Constants are double literals rounded to float, exactly as Math.fround rounds them in the JS. */
#define F(x) ((float)(x))

static inline __attribute__((always_inline)) float log_f32(float v) {
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

static inline __attribute__((always_inline)) void sincos_f32(float angle, float *sin_out, float *cos_out) {
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

/* Built twice: for CPUs with FMA and AVX2 (fmaf becomes one instruction) and a default one,
   picked at load time; both give the same bits since fmaf is correctly rounded either way. */
__attribute__((target_clones("arch=haswell", "default")))
static void blocks(float *d, size_t count) {
  const float two_pi = F(6.283185307179586);
  for (size_t b = 0; b < count; b++, d += 16) {
#pragma GCC ivdep
    for (int j = 0; j < 8; j++) {
      float radius = sqrtf(-2.0f * log_f32(1.0f - d[j]));
      float s, c;
      sincos_f32(two_pi * d[j + 8], &s, &c);
      d[j] = radius * c;
      d[j + 8] = radius * s;
    }
  }
}

/* boxMuller16(values: Float32Array): transforms every whole 16-value block in place. */
static napi_value box_muller16(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_typedarray_type type;
  size_t length;
  void *data;
  if (argc < 1 || napi_get_typedarray_info(env, argv[0], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_float32_array) {
    napi_throw_type_error(env, NULL, "boxMuller16 expects a Float32Array");
    return NULL;
  }
  blocks((float *)data, length / 16);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "boxMuller16", NAPI_AUTO_LENGTH, box_muller16, NULL, &fn);
  napi_set_named_property(env, exports, "boxMuller16", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
