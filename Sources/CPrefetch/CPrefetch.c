// CPrefetch is header-only (include/CPrefetch.h); SwiftPM wants a source file per C target.
#include "CPrefetch.h"
