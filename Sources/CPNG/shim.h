#ifndef KANDINSKY_CPNG_SHIM_H
#define KANDINSKY_CPNG_SHIM_H
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

/* libpng reports errors by longjmp, which Swift cannot catch, so the whole decode runs in this
   C function: it owns the setjmp and turns every libpng error into a return code and message. */

typedef struct {
    const unsigned char *bytes;
    size_t size;
    size_t offset;
    /* Set by the caller: the most pixels (width * height) to decode, and the expected size when
       known (0 for any). Checked against IHDR before anything of the image's size is allocated. */
    unsigned long long max_pixels;
    png_uint_32 expected_width, expected_height;
    /* Set by the decoder: IHDR's size, and whether it was rejected by the checks above. */
    png_uint_32 header_width, header_height;
    int size_rejected;
    char message[256];
} kandinsky_png_source;

static void kandinsky_png_read_bytes(png_structp png, png_bytep out, size_t count) {
    kandinsky_png_source *source = (kandinsky_png_source *)png_get_io_ptr(png);
    if (count > source->size - source->offset) {
        png_error(png, "file is truncated");
    }
    memcpy(out, source->bytes + source->offset, count);
    source->offset += count;
}

static void kandinsky_png_on_error(png_structp png, png_const_charp message) {
    kandinsky_png_source *source = (kandinsky_png_source *)png_get_error_ptr(png);
    strncpy(source->message, message, sizeof(source->message) - 1);
    source->message[sizeof(source->message) - 1] = 0;
    png_longjmp(png, 1);
}

static void kandinsky_png_on_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

/* Decodes a PNG held in memory (after checking IHDR's size against source->max_pixels and
   source->expected_width/height) to 8-bit samples with libpng's expansions: palette to RGB(A),
   grey below 8 bits scaled to 8 bits, tRNS to alpha, 16-bit samples reduced to their high byte
   (what Pillow keeps for 16-bit RGB). No gamma or background processing. On success returns 0 and
   a malloc'd buffer of width * height * channels bytes (channels 1 to 4: G, GA, RGB, RGBA) that
   the caller frees; on failure returns -1 and a message in source->message. */
static inline int kandinsky_png_decode(kandinsky_png_source *source, unsigned char **pixels,
                                       unsigned int *width, unsigned int *height,
                                       unsigned int *channels) {
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, source,
                                             kandinsky_png_on_error, kandinsky_png_on_warning);
    if (png == NULL) {
        strcpy(source->message, "cannot create a libpng decoder");
        return -1;
    }
    png_infop info = png_create_info_struct(png);
    unsigned char *volatile buffer = NULL;
    if (info == NULL) {
        png_destroy_read_struct(&png, NULL, NULL);
        strcpy(source->message, "cannot create a libpng decoder");
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        free(buffer);
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
    }
    png_set_read_fn(png, source, kandinsky_png_read_bytes);
    png_set_crc_action(png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
    png_read_info(png, info);
    source->header_width = png_get_image_width(png, info);
    source->header_height = png_get_image_height(png, info);
    if ((source->expected_width != 0 && (source->header_width != source->expected_width ||
                                          source->header_height != source->expected_height)) ||
        (unsigned long long)source->header_width * source->header_height > source->max_pixels) {
        source->size_rejected = 1;
        png_error(png, "image size rejected");
    }
    png_set_expand(png);
    png_set_strip_16(png);
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    png_uint_32 w = png_get_image_width(png, info);
    png_uint_32 h = png_get_image_height(png, info);
    unsigned int c = png_get_channels(png, info);
    size_t rowBytes = png_get_rowbytes(png, info);
    if (rowBytes != (size_t)w * c) {
        png_error(png, "unexpected row layout after expansion");
    }
    buffer = (unsigned char *)malloc(rowBytes * h + 1);
    if (buffer == NULL) {
        png_error(png, "out of memory");
    }
    /* Row by row (each interlace pass over all rows), so that no array of h row pointers is
       needed: a 1-pixel-wide image of many rows costs only its pixels. */
    for (int pass = 0; pass < passes; pass++) {
        for (png_uint_32 y = 0; y < h; y++) {
            png_read_row(png, buffer + rowBytes * y, NULL);
        }
    }
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    *pixels = buffer;
    *width = w;
    *height = h;
    *channels = c;
    return 0;
}
#endif
