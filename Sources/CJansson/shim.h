#ifndef PERMD_CJANSSON_SHIM_H
#define PERMD_CJANSSON_SHIM_H
#include <jansson.h>

/* jansson's type test and reference counting are macros, which Swift cannot import. */
static inline json_type CJansson_typeof(const json_t *json) { return json_typeof(json); }
static inline void CJansson_decref(json_t *json) { json_decref(json); }

#endif
