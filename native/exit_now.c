/*
 * exitNow(code): ends the process at once with `code`. Node's process.exit first stops every worker
 * thread and waits for each to return to JavaScript; a thread inside a long onnxruntime run holds it
 * until the run ends, and is then aborted (exit 134). _Exit neither waits nor runs destructors: what
 * the worker had to write (its gRPC answers, its log lines: Node writes pipes and files
 * synchronously) is written before it is called.
 */
#include <node_api.h>
#include <stdlib.h>

static napi_value exit_now(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t code = 1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc == 1) napi_get_value_int32(env, argv[0], &code);
  _Exit(code);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "exitNow", NAPI_AUTO_LENGTH, exit_now, NULL, &fn) == napi_ok)
    napi_set_named_property(env, exports, "exitNow", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
