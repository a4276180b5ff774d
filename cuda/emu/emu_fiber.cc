// Fiber stacks and the context switch (see emu_fiber.h).
#include "emu_fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <new>

#if FSNN_EMU_ASM_SWITCH
// fsnn_emu_switch_stack(void** save_sp, void* load_sp): pushes the callee-saved registers and the
// MXCSR / x87 control words, stores the stack pointer in *save_sp, loads load_sp and pops the same
// frame from there. A new fiber's stack holds such a frame whose return address is
// fsnn_emu_fiber_start, which calls entry (r13) with arg (r12).
asm(R"(
  .text
  .p2align 4
  .globl fsnn_emu_switch_stack
  .hidden fsnn_emu_switch_stack
  .type fsnn_emu_switch_stack, @function
fsnn_emu_switch_stack:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size fsnn_emu_switch_stack, .-fsnn_emu_switch_stack

  .p2align 4
  .globl fsnn_emu_fiber_start
  .hidden fsnn_emu_fiber_start
  .type fsnn_emu_fiber_start, @function
fsnn_emu_fiber_start:
  .cfi_startproc
  .cfi_undefined rip
  movq %r12, %rdi
  callq *%r13
  ud2
  .cfi_endproc
  .size fsnn_emu_fiber_start, .-fsnn_emu_fiber_start
)");
extern "C" void fsnn_emu_switch_stack(void** save_sp, void* load_sp);
extern "C" void fsnn_emu_fiber_start();
#endif

namespace fsnn_emu {

FiberStack make_stack(size_t bytes) {
  const size_t page = size_t(sysconf(_SC_PAGESIZE));
  bytes = (bytes + page - 1) / page * page;
  FiberStack s;
  s.mapping_bytes = bytes + page;
  void* m = mmap(nullptr, s.mapping_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED) throw std::bad_alloc();
  s.mapping = static_cast<char*>(m);
  mprotect(s.mapping, page, PROT_NONE);  // guard page: stacks grow down into it
  s.lo = s.mapping + page;
  s.hi = s.mapping + s.mapping_bytes;
  return s;
}

void free_stack(FiberStack& s) {
  if (s.mapping) munmap(s.mapping, s.mapping_bytes);
  s = FiberStack{};
}

#if FSNN_EMU_ASM_SWITCH
void prepare_context(Context* c, FiberStack& s, void (*entry)(void*), void* arg) {
  uintptr_t a = reinterpret_cast<uintptr_t>(s.hi) - 64;
  a &= ~uintptr_t(15);  // after the final `ret` the stack pointer is a, 16-byte aligned
  uint64_t* f = reinterpret_cast<uint64_t*>(a);
  f[-1] = reinterpret_cast<uint64_t>(&fsnn_emu_fiber_start);  // return address
  f[-2] = 0;                                                  // rbp
  f[-3] = 0;                                                  // rbx
  f[-4] = reinterpret_cast<uint64_t>(arg);                    // r12
  f[-5] = reinterpret_cast<uint64_t>(entry);                  // r13
  f[-6] = 0;                                                  // r14
  f[-7] = 0;                                                  // r15
  uint32_t mxcsr;
  uint16_t fpucw;
  asm volatile("stmxcsr %0" : "=m"(mxcsr));
  asm volatile("fnstcw %0" : "=m"(fpucw));
  uint64_t words = 0;
  std::memcpy(&words, &mxcsr, 4);
  std::memcpy(reinterpret_cast<char*>(&words) + 4, &fpucw, 2);
  f[-8] = words;
  c->sp = &f[-8];
}

void switch_context(Context* from, Context* to) { fsnn_emu_switch_stack(&from->sp, to->sp); }
#else
namespace {
void ucontext_entry(unsigned hi_e, unsigned lo_e, unsigned hi_a, unsigned lo_a) {
  auto entry = reinterpret_cast<void (*)(void*)>((uintptr_t(hi_e) << 32) | uintptr_t(lo_e));
  void* arg = reinterpret_cast<void*>((uintptr_t(hi_a) << 32) | uintptr_t(lo_a));
  entry(arg);
}
}  // namespace

void prepare_context(Context* c, FiberStack& s, void (*entry)(void*), void* arg) {
  getcontext(&c->uc);
  c->uc.uc_stack.ss_sp = s.lo;
  c->uc.uc_stack.ss_size = size_t(s.hi - s.lo);
  c->uc.uc_link = nullptr;
  const uintptr_t e = reinterpret_cast<uintptr_t>(entry), a = reinterpret_cast<uintptr_t>(arg);
  makecontext(&c->uc, reinterpret_cast<void (*)()>(&ucontext_entry), 4, unsigned(e >> 32), unsigned(e),
              unsigned(a >> 32), unsigned(a));
}

void switch_context(Context* from, Context* to) { swapcontext(&from->uc, &to->uc); }
#endif

}  // namespace fsnn_emu
