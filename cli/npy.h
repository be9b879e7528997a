/* npy.h - reading and writing NumPy .npy files (format versions 1.0, 2.0
 * and 3.0) for the q8 tool: little-endian float32 ('<f4') and uint8
 * ('|u1') arrays of up to four dimensions in C order.
 *
 * The reader treats a file as hostile: the header length is bounded, the
 * header dictionary is parsed strictly (exactly the keys 'descr',
 * 'fortran_order' and 'shape'), the element count is overflow-checked and
 * must match the data bytes exactly.  Nothing is allocated from a shape
 * before that check.  Errors are returned as -1 with a sentence in err.
 */
#ifndef Q8_CLI_NPY_H
#define Q8_CLI_NPY_H

#include <stddef.h>

#define NPY_MAX_DIMS 4
/* numpy itself refuses headers above 10000 bytes by default
 * (max_header_size); files q8 writes use 118 bytes. */
#define NPY_MAX_HEADER 10000

typedef enum {
  NPY_F32 = 1, /* '<f4' */
  NPY_U8 = 2,  /* '|u1' */
} npy_dtype;

typedef struct {
  npy_dtype dtype;
  int ndim;                    /* 0..NPY_MAX_DIMS; 0 is a scalar */
  size_t shape[NPY_MAX_DIMS];
  size_t count;                /* product of shape */
  void *data;                  /* count elements in host order, malloc'ed */
} npy_array;

/* Parses a whole .npy file held in memory into *a (which the caller
 * releases with npy_free ()).  Returns 0, or -1 with a message in err. */
int npy_read_buffer (const void *buf, size_t size, npy_array *a, char *err,
                     size_t err_size);

/* Same from a file. */
int npy_read_file (const char *path, npy_array *a, char *err,
                   size_t err_size);

/* Writes count = product (shape) elements of dtype from data (host order)
 * as a version 1.0 .npy file.  Returns 0, or -1 with a message in err. */
int npy_write_file (const char *path, npy_dtype dtype, int ndim,
                    const size_t *shape, const void *data, char *err,
                    size_t err_size);

void npy_free (npy_array *a);

/* "float32" or "uint8". */
const char *npy_dtype_name (npy_dtype dtype);

#endif /* Q8_CLI_NPY_H */
