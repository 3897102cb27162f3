/*
 * Keeps the bytes of bundle volumes, read once, out of the page cache
 * (libs/bundle/src/read-once.ts, page-cache.ts). Node has no binding for
 * either call.
 *
 * readDirect(fd, buffer, position): a promise of the bytes read, from a
 * descriptor opened with O_DIRECT, into `buffer` from `position` (any
 * offset, any length): the sectors around the range are read into an
 * aligned buffer of the thread's own, kept for its next read, and the
 * range copied out. The kernel then reads from the device into that buffer
 * and makes no page of cache at all; on this machine a cold GiB read
 * through the page cache costs 2.6-3.1 s of CPU, direct 0.1 s (every page
 * the cache takes is fresh memory fetched from the hypervisor). It
 * resolves to the count read (less than asked at the end of the file), or
 * to minus the errno.
 *
 * dropPages(fd, offset, length): a promise of posix_fadvise
 * (POSIX_FADV_DONTNEED) over a range of an open file, for pages that were
 * cached all the same (a volume just written or uploaded). It resolves to
 * 0, or the errno posix_fadvise gave. Not on the calling thread: pages just
 * read may still sit in another CPU's LRU batch, and the kernel then drains
 * every CPU's and waits for it, milliseconds when the other core is busy.
 *
 * Both run on libuv's thread pool; the caller keeps the descriptor open
 * (and the buffer alive) until the promise settles. Node-API only: one
 * binary for every Node version airlock runs on.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* Queues `execute`, then `complete`, for `r` on libuv's thread pool: the promise they settle, or NULL when they could not be queued. */
static napi_value queued(napi_env env, const char *name, napi_async_execute_callback execute, napi_async_complete_callback complete, void *r,
                         napi_async_work *work, napi_deferred *deferred) {
  napi_value promise, resource;
  if (napi_create_promise(env, deferred, &promise) != napi_ok || napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource) != napi_ok ||
      napi_create_async_work(env, NULL, resource, execute, complete, r, work) != napi_ok || napi_queue_async_work(env, *work) != napi_ok)
    return NULL;
  return promise;
}

static napi_value drop_pages(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
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
  napi_value promise = queued(env, "airlock:dropPages", drop_execute, drop_complete, r, &r->work, &r->deferred);
  if (promise == NULL) {
    free(r);
    napi_throw_error(env, NULL, "dropPages: could not queue its work");
    return NULL;
  }
  return promise;
}

/* O_DIRECT wants the file offset, the length and the memory aligned to the
 * device's logical block; a page covers every block size Linux has. */
#define ALIGN 4096

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref buffer;
  uint8_t *dest;
  size_t length;
  int64_t position;
  int fd;
  int64_t result;
} read_request;

/* One aligned buffer per thread of the pool, grown when a read needs more. */
static __thread uint8_t *scratch;
static __thread size_t scratch_size;

static void read_execute(napi_env env, void *data) {
  read_request *r = data;
  int64_t from = r->position - r->position % ALIGN;
  size_t head = (size_t)(r->position - from);
  size_t span = (head + r->length + ALIGN - 1) / ALIGN * ALIGN;
  if (scratch_size < span) {
    free(scratch);
    scratch = NULL;
    scratch_size = 0;
    if (posix_memalign((void **)&scratch, ALIGN, span) != 0) {
      r->result = -ENOMEM;
      return;
    }
    scratch_size = span;
  }
  size_t got = 0;
  while (got < span) {
    ssize_t n = pread(r->fd, scratch + got, span - got, (off_t)(from + (int64_t)got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      r->result = -errno;
      return;
    }
    got += (size_t)n;
    if (n == 0 || n % ALIGN != 0) break; /* the end of the file */
  }
  size_t useful = got > head ? got - head : 0;
  if (useful > r->length) useful = r->length;
  memcpy(r->dest, scratch + head, useful);
  r->result = (int64_t)useful;
}

static void read_complete(napi_env env, napi_status status, void *data) {
  read_request *r = data;
  napi_value v;
  if (napi_create_int64(env, status == napi_ok ? r->result : -ECANCELED, &v) == napi_ok) napi_resolve_deferred(env, r->deferred, v);
  napi_delete_reference(env, r->buffer);
  napi_delete_async_work(env, r->work);
  free(r);
}

static napi_value read_direct(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd;
  int64_t position;
  void *dest;
  size_t length;
  bool is_buffer = false;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3 || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      napi_is_buffer(env, argv[1], &is_buffer) != napi_ok || !is_buffer || napi_get_buffer_info(env, argv[1], &dest, &length) != napi_ok ||
      napi_get_value_int64(env, argv[2], &position) != napi_ok || fd < 0 || position < 0) {
    napi_throw_type_error(env, NULL, "readDirect(fd, buffer, position: a non-negative integer)");
    return NULL;
  }
  read_request *r = calloc(1, sizeof *r);
  if (r == NULL) {
    napi_throw_error(env, NULL, "readDirect: out of memory");
    return NULL;
  }
  r->fd = fd;
  r->dest = dest;
  r->length = length;
  r->position = position;
  if (napi_create_reference(env, argv[1], 1, &r->buffer) != napi_ok) {
    free(r);
    napi_throw_error(env, NULL, "readDirect: could not hold its buffer");
    return NULL;
  }
  napi_value promise = queued(env, "airlock:readDirect", read_execute, read_complete, r, &r->work, &r->deferred);
  if (promise == NULL) {
    napi_delete_reference(env, r->buffer);
    free(r);
    napi_throw_error(env, NULL, "readDirect: could not queue its work");
    return NULL;
  }
  return promise;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "dropPages", NAPI_AUTO_LENGTH, drop_pages, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "dropPages", fn) != napi_ok ||
      napi_create_function(env, "readDirect", NAPI_AUTO_LENGTH, read_direct, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "readDirect", fn) != napi_ok)
    return NULL;
  return exports;
}
