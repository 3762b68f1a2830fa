#ifndef KANDINSKY_CTURBOJPEG_SHIM_H
#define KANDINSKY_CTURBOJPEG_SHIM_H
#include <stddef.h>
#include <turbojpeg.h>
#endif
