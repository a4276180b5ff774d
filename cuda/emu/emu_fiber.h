// Fibers for the CUDA emulator: a stack per emulated thread and a switch between stacks on one OS
// thread. On x86-64 a hand-written switch saves only the callee-saved registers and the SSE / x87
// control words (a few nanoseconds); elsewhere, and under AddressSanitizer (which understands
// swapcontext but not a custom switch), ucontext is used.
#pragma once
#include <cstddef>

#if defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__) && !defined(FSNN_EMU_UCONTEXT)
#define FSNN_EMU_ASM_SWITCH 1
#else
#define FSNN_EMU_ASM_SWITCH 0
#include <ucontext.h>
#endif

namespace fsnn_emu {

// A stack with an inaccessible guard page below it, so an overflow faults instead of corrupting memory.
struct FiberStack {
  char* mapping = nullptr;
  size_t mapping_bytes = 0;
  char* lo = nullptr;  // usable range [lo, hi)
  char* hi = nullptr;
};
FiberStack make_stack(size_t bytes);
void free_stack(FiberStack& s);

struct Context {
#if FSNN_EMU_ASM_SWITCH
  void* sp = nullptr;
#else
  ucontext_t uc;
#endif
};

// Prepares `c` to start entry(arg) on stack `s` when switched to; entry must never return.
void prepare_context(Context* c, FiberStack& s, void (*entry)(void*), void* arg);
// Saves the running context into `from` and resumes `to`.
void switch_context(Context* from, Context* to);

}  // namespace fsnn_emu
