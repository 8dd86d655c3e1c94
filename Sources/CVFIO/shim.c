// SwiftPM needs one C source file per C target; every shim is a static inline in include/CVFIO.h.
#include "CVFIO.h"
