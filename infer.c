/* The one translation unit that holds infer.h's implementation; tools and tests link it. */
#define _POSIX_C_SOURCE 200809L
#define INFER_IMPLEMENTATION
#include "infer.h"
