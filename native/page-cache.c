/*
 * dropPages(fd, offset, length): a promise of posix_fadvise(POSIX_FADV_DONTNEED)
 * over a range of an open file, run on libuv's thread pool, so the pages of
 * bytes read once leave the page cache as soon as they are read
 * (libs/bundle/src/read-once.ts). It resolves to 0, or the errno
 * posix_fadvise gave. Not on the calling thread: pages just read may still
 * sit in another CPU's LRU batch, and the kernel then drains every CPU's
 * and waits for it, milliseconds when the other core is busy. The caller
 * keeps the descriptor open until the promise settles. Node has no binding
 * for it.
 *
 * Node-API only: one binary for every Node version airlock runs on.
 */
#include <fcntl.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  int fd;
  int64_t offset, length;
  int result;
} drop_request;

static void drop_execute(napi_env env, void *data) {
  drop_request *r = data;
  r->result = posix_fadvise(r->fd, (off_t)r->offset, (off_t)r->length, POSIX_FADV_DONTNEED);
}

static void drop_complete(napi_env env, napi_status status, void *data) {
  drop_request *r = data;
  napi_value v;
  if (napi_create_int32(env, status == napi_ok ? r->result : -1, &v) == napi_ok) napi_resolve_deferred(env, r->deferred, v);
  napi_delete_async_work(env, r->work);
  free(r);
}

static napi_value drop_pages(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], promise, name;
  int32_t fd;
  int64_t offset, length;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3 || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      napi_get_value_int64(env, argv[1], &offset) != napi_ok || napi_get_value_int64(env, argv[2], &length) != napi_ok || fd < 0 ||
      offset < 0 || length < 0) {
    napi_throw_type_error(env, NULL, "dropPages(fd, offset, length: non-negative integers)");
    return NULL;
  }
  drop_request *r = calloc(1, sizeof *r);
  if (r == NULL) {
    napi_throw_error(env, NULL, "dropPages: out of memory");
    return NULL;
  }
  r->fd = fd;
  r->offset = offset;
  r->length = length;
  if (napi_create_promise(env, &r->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "airlock:dropPages", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, drop_execute, drop_complete, r, &r->work) != napi_ok ||
      napi_queue_async_work(env, r->work) != napi_ok) {
    free(r);
    napi_throw_error(env, NULL, "dropPages: could not queue its work");
    return NULL;
  }
  return promise;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "dropPages", NAPI_AUTO_LENGTH, drop_pages, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "dropPages", fn) != napi_ok)
    return NULL;
  return exports;
}
