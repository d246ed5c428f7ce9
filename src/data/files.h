/* Dataset file helpers shared by the readers (src/data/files.c). */
#ifndef TAUNET_DATA_FILES_H
#define TAUNET_DATA_FILES_H
#include <stddef.h>
#include "taunet/error.h"

/* Whole decompressed content of path (malloc'd). Reading everything first, rather than trusting a
 * header, lets the readers report exactly what the file holds. `hint` ends error lines (the fix). */
int tn_data_read_all(const char *path, const char *hint, unsigned char **out, size_t *out_len, tn_err *e);
/* dir/name or dir/name.gz into path (raw preferred when both exist); 1 when found. */
int tn_data_find_file(const char *dir, const char *name, char *path, size_t cap);
#endif
