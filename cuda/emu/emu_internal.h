// Shared between the emulator's host-side files (not seen by the emulated sources).
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <string>

namespace fsnn_emu {

// Errors. A sticky error (a device fault) is returned by every later call, as on a GPU whose context is
// lost; a non-sticky one only until cudaGetLastError reads it. `detail` is appended to
// cudaGetErrorString's text for that code, so the op's error message explains what the emulator saw.
cudaError_t set_error(cudaError_t err, const std::string& detail, bool sticky);
cudaError_t sticky_error();  // cudaSuccess while the context is healthy

// Device memory (emu_memory.cc): host blocks between NaN-patterned red zones.
cudaError_t device_malloc(void** ptr, size_t bytes);
cudaError_t device_free(void* ptr);
size_t device_bytes_in_use();
// True when [p, p + bytes) lies inside one live device block; else false with a description in *why.
bool device_range(const void* p, size_t bytes, std::string* why);
// Scans every live block's red zones; on damage records a sticky cudaErrorIllegalAddress naming the
// block and `after` (what ran since the last scan) and returns false.
bool check_red_zones(const char* after);

// Checks the red zones of the blocks that contain the given pointers (a kernel's pointer arguments);
// `launch` names the kernel in the report.
bool check_red_zones_of(const void* const* ptrs, int n, const std::string& launch);

// The emulated device's properties (FSNN_EMU_SMS, FSNN_EMU_MEMORY_MB).
const cudaDeviceProp& device_properties();

// cuBLAS emulation (cublas_emu.cc): the entry point with that name, or null.
void* cublas_symbol(const char* name);

}  // namespace fsnn_emu
