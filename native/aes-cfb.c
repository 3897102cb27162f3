/*
 * AES-256-CFB with the system's OpenSSL (libcrypto), in place, for the
 * entries of format-2 bundles (libs/bundle/src/seipd.ts): cfbOpen decrypts
 * whole blocks for the import, cfbSealer encrypts a stream for the export.
 * The Node build on some machines has no AES assembly (AES-ECB at about
 * 240 MB/s, where libcrypto gives GB/s).
 *
 * cfbOpen(key, previous, data): key: 32 bytes. previous: 16 bytes, the
 * ciphertext block before `data` (the IV for the first call); replaced by
 * the last ciphertext block of `data`.
 * data: a whole number of 16-byte blocks, replaced by its plain text.
 * CFB decryption needs no block of this call before another: the key stream
 * of block i is AES of ciphertext block i - 1, so it is AES-ECB passes over
 * `previous` and the data, 64 KiB at a time into a key stream on the stack,
 * each followed by an XOR: 4.4 GB/s here, where one pass into a buffer
 * allocated per call and a byte loop gave 0.95 GB/s.
 *
 * cfbSealer encrypts with AES-NI itself where the CPU has it: CFB
 * encryption is serial (each block's key stream is AES of the ciphertext
 * block before it), so its speed is the latency of fourteen AES rounds, and
 * libcrypto's CRYPTO_cfb128_encrypt adds a call and a byte loop per block:
 * 510 MB/s here; the rounds in registers give 770 MB/s (AIRLOCK_AESNI=0
 * goes back to libcrypto).
 *
 * Node-API only: the one binary loads on every Node version airlock runs on,
 * and in worker threads (NAPI_MODULE_INIT is context-aware).
 */
#include <limits.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define HAVE_AESNI 1
#endif
#include <node_api.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int buffer_arg(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  bool is;
  return napi_is_buffer(env, v, &is) == napi_ok && is && napi_get_buffer_info(env, v, (void **)data, len) == napi_ok;
}

/* The key stream is made a window at a time. */
#define WINDOW (64 << 10)

/* d ^= k over n bytes (a whole number of blocks), sixteen at a time. */
static void xor_into(uint8_t *d, const uint8_t *k, size_t n) {
#ifdef HAVE_AESNI
  for (size_t i = 0; i < n; i += 16)
    _mm_storeu_si128((__m128i *)(d + i), _mm_xor_si128(_mm_loadu_si128((const __m128i *)(d + i)), _mm_loadu_si128((const __m128i *)(k + i))));
#else
  for (size_t i = 0; i < n; i++) d[i] ^= k[i];
#endif
}

static napi_value cfb_open(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  uint8_t *key, *previous, *data;
  size_t key_len, previous_len, data_len;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3 || !buffer_arg(env, argv[0], &key, &key_len) ||
      !buffer_arg(env, argv[1], &previous, &previous_len) || !buffer_arg(env, argv[2], &data, &data_len) || key_len != 32 ||
      previous_len != 16 || data_len % 16 != 0 || data_len > INT_MAX - 16) {
    napi_throw_type_error(env, NULL, "cfbOpen(key: 32 bytes, previous: 16 bytes, data: whole 16-byte blocks)");
    return NULL;
  }
  if (data_len == 0) return NULL;
  /* the key stream a window at a time, on the stack: it stays in the cache, and no call allocates */
  uint8_t stream[WINDOW], last[16];
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  int out = 0;
  int ok = ctx != NULL && EVP_EncryptInit_ex(ctx, EVP_aes_256_ecb(), NULL, key, NULL) == 1 && EVP_CIPHER_CTX_set_padding(ctx, 0) == 1;
  for (size_t at = 0; ok && at < data_len; at += WINDOW) {
    size_t n = data_len - at < WINDOW ? data_len - at : WINDOW;
    uint8_t *d = data + at;
    ok = EVP_EncryptUpdate(ctx, stream, &out, previous, 16) == 1 && out == 16 &&
         (n == 16 || (EVP_EncryptUpdate(ctx, stream + 16, &out, d, (int)n - 16) == 1 && out == (int)n - 16));
    if (!ok) break;
    memcpy(last, d + n - 16, 16);
    xor_into(d, stream, n);
    memcpy(previous, last, 16);
  }
  if (ctx != NULL) EVP_CIPHER_CTX_free(ctx);
  OPENSSL_cleanse(stream, sizeof stream);
  if (!ok) napi_throw_error(env, NULL, "cfbOpen: libcrypto's AES-256-ECB failed");
  return NULL;
}

/* One sealer's state: libcrypto's context, or AES-NI's round keys and the CFB state as libcrypto keeps it. */
typedef struct {
  EVP_CIPHER_CTX *ctx;
  unsigned num; /* bytes of the current block already used */
  uint8_t iv[16];
#ifdef HAVE_AESNI
  __m128i rk[15];
#endif
} sealer_state;

#ifdef HAVE_AESNI
#define AESNI __attribute__((target("aes,sse2")))

AESNI static __m128i shift_xor(__m128i k) {
  k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
  k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
  return _mm_xor_si128(k, _mm_slli_si128(k, 4));
}

/* AES-256's key schedule (FIPS-197 5.2): words i % 8 == 0 from RotWord, SubWord and Rcon of the word before; i % 8 == 4 from its SubWord. */
AESNI static void aes256_schedule(const uint8_t *key, __m128i *rk) {
  rk[0] = _mm_loadu_si128((const __m128i *)key);
  rk[1] = _mm_loadu_si128((const __m128i *)(key + 16));
#define ROUND_KEYS(i, rcon)                                                                                                    \
  rk[i] = _mm_xor_si128(shift_xor(rk[i - 2]), _mm_shuffle_epi32(_mm_aeskeygenassist_si128(rk[i - 1], rcon), 0xff));            \
  if (i < 14) rk[i + 1] = _mm_xor_si128(shift_xor(rk[i - 1]), _mm_shuffle_epi32(_mm_aeskeygenassist_si128(rk[i], 0), 0xaa));
  ROUND_KEYS(2, 0x01)
  ROUND_KEYS(4, 0x02)
  ROUND_KEYS(6, 0x04)
  ROUND_KEYS(8, 0x08)
  ROUND_KEYS(10, 0x10)
  ROUND_KEYS(12, 0x20)
  ROUND_KEYS(14, 0x40)
#undef ROUND_KEYS
}

/* One block through AES-256's fourteen rounds. */
AESNI static inline __m128i encrypt_block(__m128i b, const __m128i *k) {
  b = _mm_xor_si128(b, k[0]);
  for (int i = 1; i < 14; i++) b = _mm_aesenc_si128(b, k[i]);
  return _mm_aesenclast_si128(b, k[14]);
}

/* CFB-128 encryption in place, going on from the state: what CRYPTO_cfb128_encrypt computes, a block's fourteen rounds inline. */
AESNI static void aesni_cfb_seal(sealer_state *st, uint8_t *p, size_t n) {
  unsigned num = st->num;
  while (num && n) {
    *p = st->iv[num] ^= *p;
    p++;
    n--;
    num = (num + 1) & 15;
  }
  __m128i k[15];
  memcpy(k, st->rk, sizeof k);
  __m128i c = _mm_loadu_si128((const __m128i *)st->iv);
  for (; n >= 16; p += 16, n -= 16) {
    c = _mm_xor_si128(encrypt_block(c, k), _mm_loadu_si128((const __m128i *)p));
    _mm_storeu_si128((__m128i *)p, c);
  }
  if (n) c = encrypt_block(c, k);
  _mm_storeu_si128((__m128i *)st->iv, c);
  for (; n; p++, n--) *p = st->iv[num++] ^= *p;
  st->num = num;
}
#endif

/* seal(data): encrypts `data` (any length) in place, going on where the previous call ended. */
static napi_value cfb_seal(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  sealer_state *st;
  uint8_t *data;
  size_t data_len;
  int out = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&st) != napi_ok || argc != 1 || !buffer_arg(env, argv[0], &data, &data_len) ||
      data_len > INT_MAX) {
    napi_throw_type_error(env, NULL, "seal(data: a Buffer)");
    return NULL;
  }
#ifdef HAVE_AESNI
  if (st->ctx == NULL) {
    aesni_cfb_seal(st, data, data_len);
    return NULL;
  }
#endif
  if (data_len > 0 && (EVP_EncryptUpdate(st->ctx, data, &out, data, (int)data_len) != 1 || out != (int)data_len))
    napi_throw_error(env, NULL, "cfbSealer: libcrypto's AES-256-CFB failed");
  return NULL;
}

static void free_state(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  sealer_state *st = data;
  if (st->ctx != NULL) EVP_CIPHER_CTX_free(st->ctx);
  OPENSSL_cleanse(st, sizeof *st);
  free(st);
}

/*
 * cfbSealer(key): a function seal(data) that encrypts with AES-256-CFB, a
 * zero IV (OpenPGP's SEIPD v1), one stream over all its calls, each chunk in
 * place: with AES-NI when the CPU has it and AIRLOCK_AESNI is not 0, else
 * libcrypto (which allows in == out). The state is freed with the function.
 */
static napi_value cfb_sealer(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], fn;
  uint8_t *key;
  size_t key_len;
  static const uint8_t zero_iv[16] = {0};
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 || !buffer_arg(env, argv[0], &key, &key_len) || key_len != 32) {
    napi_throw_type_error(env, NULL, "cfbSealer(key: 32 bytes)");
    return NULL;
  }
  sealer_state *st = calloc(1, sizeof *st);
  if (st == NULL) {
    napi_throw_error(env, NULL, "cfbSealer: out of memory");
    return NULL;
  }
#ifdef HAVE_AESNI
  const char *use = getenv("AIRLOCK_AESNI");
  __builtin_cpu_init(); /* reads the CPU's features, should no constructor have read them yet */
  if (__builtin_cpu_supports("aes") && (use == NULL || strcmp(use, "0") != 0))
    aes256_schedule(key, st->rk);
  else
#endif
  {
    st->ctx = EVP_CIPHER_CTX_new();
    if (st->ctx == NULL || EVP_EncryptInit_ex(st->ctx, EVP_aes_256_cfb128(), NULL, key, zero_iv) != 1) {
      free_state(env, st, NULL);
      napi_throw_error(env, NULL, "cfbSealer: libcrypto's AES-256-CFB failed");
      return NULL;
    }
  }
  if (napi_create_function(env, "seal", NAPI_AUTO_LENGTH, cfb_seal, st, &fn) != napi_ok ||
      napi_add_finalizer(env, fn, st, free_state, NULL, NULL) != napi_ok) {
    free_state(env, st, NULL);
    napi_throw_error(env, NULL, "cfbSealer: could not make its function");
    return NULL;
  }
  return fn;
}

NAPI_MODULE_INIT() {
  napi_value open_fn, sealer_fn;
  if (napi_create_function(env, "cfbOpen", NAPI_AUTO_LENGTH, cfb_open, NULL, &open_fn) != napi_ok ||
      napi_set_named_property(env, exports, "cfbOpen", open_fn) != napi_ok ||
      napi_create_function(env, "cfbSealer", NAPI_AUTO_LENGTH, cfb_sealer, NULL, &sealer_fn) != napi_ok ||
      napi_set_named_property(env, exports, "cfbSealer", sealer_fn) != napi_ok)
    return NULL;
  return exports;
}
