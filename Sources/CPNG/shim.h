#ifndef KANDINSKY_CPNG_SHIM_H
#define KANDINSKY_CPNG_SHIM_H
#include <png.h>
#endif
