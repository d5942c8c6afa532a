#ifndef BOTTLENECK_CBLAS_SHIM_H
#define BOTTLENECK_CBLAS_SHIM_H
#include <cblas.h>
// Declared by OpenBLAS's cblas.h on most builds; repeated so the symbols are visible to Swift.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char *openblas_get_corename(void);
char *openblas_get_config(void);
#endif
