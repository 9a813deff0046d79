#ifndef PERMD_CJANSSON_SHIM_H
#define PERMD_CJANSSON_SHIM_H
#include <jansson.h>

/* jansson's type tests are macros, which Swift cannot import. */
static inline json_type CJansson_typeof(const json_t *json) { return json_typeof(json); }
static inline int CJansson_is_object(const json_t *json) { return json_is_object(json); }
static inline int CJansson_is_array(const json_t *json) { return json_is_array(json); }
static inline void CJansson_decref(json_t *json) { json_decref(json); }

#endif
