#ifndef KANDINSKY_CBLAS_SHIM_H
#define KANDINSKY_CBLAS_SHIM_H
#include <cblas.h>
#include <lapacke.h>
#endif
