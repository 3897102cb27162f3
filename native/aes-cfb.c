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
 * of block i is AES of ciphertext block i - 1, so all of it is one AES-ECB
 * pass over `previous` and the data, then an XOR.
 *
 * Node-API only: the one binary loads on every Node version airlock runs on,
 * and in worker threads (NAPI_MODULE_INIT is context-aware).
 */
#include <limits.h>
#include <node_api.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int buffer_arg(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  bool is;
  return napi_is_buffer(env, v, &is) == napi_ok && is && napi_get_buffer_info(env, v, (void **)data, len) == napi_ok;
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
  uint8_t *stream = malloc(data_len);
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  int out = 0;
  int ok = stream != NULL && ctx != NULL && EVP_EncryptInit_ex(ctx, EVP_aes_256_ecb(), NULL, key, NULL) == 1 &&
           EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 && EVP_EncryptUpdate(ctx, stream, &out, previous, 16) == 1 && out == 16 &&
           (data_len == 16 || (EVP_EncryptUpdate(ctx, stream + 16, &out, data, (int)data_len - 16) == 1 && out == (int)data_len - 16));
  if (ok) {
    memcpy(previous, data + data_len - 16, 16);
    for (size_t i = 0; i < data_len; i++) data[i] ^= stream[i];
  }
  if (ctx != NULL) EVP_CIPHER_CTX_free(ctx);
  if (stream != NULL) {
    OPENSSL_cleanse(stream, data_len);
    free(stream);
  }
  if (!ok) napi_throw_error(env, NULL, "cfbOpen: libcrypto's AES-256-ECB failed");
  return NULL;
}

/* seal(data): encrypts `data` (any length) in place, going on where the previous call ended. */
static napi_value cfb_seal(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  EVP_CIPHER_CTX *ctx;
  uint8_t *data;
  size_t data_len;
  int out = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&ctx) != napi_ok || argc != 1 || !buffer_arg(env, argv[0], &data, &data_len) ||
      data_len > INT_MAX) {
    napi_throw_type_error(env, NULL, "seal(data: a Buffer)");
    return NULL;
  }
  if (data_len > 0 && (EVP_EncryptUpdate(ctx, data, &out, data, (int)data_len) != 1 || out != (int)data_len))
    napi_throw_error(env, NULL, "cfbSealer: libcrypto's AES-256-CFB failed");
  return NULL;
}

static void free_ctx(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  EVP_CIPHER_CTX_free((EVP_CIPHER_CTX *)data);
}

/*
 * cfbSealer(key): a function seal(data) that encrypts with AES-256-CFB, a
 * zero IV (OpenPGP's SEIPD v1), one stream over all its calls, each chunk in
 * place (libcrypto allows in == out). The context is freed with the function.
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
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  if (ctx == NULL || EVP_EncryptInit_ex(ctx, EVP_aes_256_cfb128(), NULL, key, zero_iv) != 1) {
    EVP_CIPHER_CTX_free(ctx);
    napi_throw_error(env, NULL, "cfbSealer: libcrypto's AES-256-CFB failed");
    return NULL;
  }
  if (napi_create_function(env, "seal", NAPI_AUTO_LENGTH, cfb_seal, ctx, &fn) != napi_ok ||
      napi_add_finalizer(env, fn, ctx, free_ctx, NULL, NULL) != napi_ok) {
    EVP_CIPHER_CTX_free(ctx);
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
