/* Stands in for the CUDA toolkit's <curand.h> when src/backend/cuda.cu is compiled against the CPU
 * emulation (tests only): the emulated runtime, cuBLAS and cuRAND are all in one header. */
#include "../cuda_emu_runtime.h"
