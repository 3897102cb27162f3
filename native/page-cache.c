/*
 * dropPages(fd, offset, length): posix_fadvise(POSIX_FADV_DONTNEED) over a
 * range of an open file, so the pages of bytes read once leave the page
 * cache as soon as they are read (libs/bundle/src/read-once.ts). Returns 0,
 * or the errno posix_fadvise gave. Node has no binding for it.
 *
 * Node-API only: one binary for every Node version airlock runs on.
 */
#include <fcntl.h>
#include <node_api.h>

static napi_value drop_pages(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], out;
  int32_t fd;
  int64_t offset, length;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3 || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      napi_get_value_int64(env, argv[1], &offset) != napi_ok || napi_get_value_int64(env, argv[2], &length) != napi_ok || fd < 0 ||
      offset < 0 || length < 0) {
    napi_throw_type_error(env, NULL, "dropPages(fd, offset, length: non-negative integers)");
    return NULL;
  }
  int r = posix_fadvise(fd, (off_t)offset, (off_t)length, POSIX_FADV_DONTNEED);
  if (napi_create_int32(env, r, &out) != napi_ok) return NULL;
  return out;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "dropPages", NAPI_AUTO_LENGTH, drop_pages, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "dropPages", fn) != napi_ok)
    return NULL;
  return exports;
}
