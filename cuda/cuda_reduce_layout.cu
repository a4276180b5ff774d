// CUDA reductions and layout ops (permute, slice, concat blocks, index select/add, gather/scatter).
// Semantics mirror native/cpu/cpu_reduce_layout.cc: sums accumulate in double; max/min return the first
// index of the extreme value, and the first NaN when there is one (NaN propagates); indices are int32.
// Sums are deterministic and GPU-independent: the order of additions depends only on the shape. Long
// reductions over few outputs (a whole-tensor sum, the column sums of a bias gradient) are split into
// fixed chunks summed by many blocks, then the chunks are added in order by a second kernel.
// Accumulating scatters (index_add, scatter_add) use atomicAdd: repeated indices are summed in an
// unspecified order (results agree with the CPU to rounding).
#include <algorithm>
#include <cmath>

#include "cuda_backend.h"
#include "launch.h"

namespace fsnn {
namespace cuda {

namespace {

// ---------------------------------------------------------------------------------------------
// Reductions
// ---------------------------------------------------------------------------------------------
// An extreme-value candidate: value and index in the reduced dimension.
struct Best {
  float v;
  int32_t i;
};

// The candidate a sequential scan would keep of a and b (any order of indices): the first NaN if either
// is NaN, else the larger (smaller) value, ties to the smaller index.
template <bool MAX>
__device__ __forceinline__ Best pick(Best a, Best b) {
  const bool an = isnan(a.v), bn = isnan(b.v);
  if (an || bn) {
    if (an && bn) return a.i <= b.i ? a : b;
    return an ? a : b;
  }
  if (MAX ? (a.v > b.v) : (a.v < b.v)) return a;
  if (MAX ? (b.v > a.v) : (b.v < a.v)) return b;
  return a.i <= b.i ? a : b;
}

template <bool MAX>
__device__ __forceinline__ Best warp_pick(Best b) {
#pragma unroll
  for (int off = 16; off >= 1; off >>= 1) {
    Best o;
    o.v = __shfl_xor_sync(0xffffffffu, b.v, off);
    o.i = __shfl_xor_sync(0xffffffffu, b.i, off);
    b = pick<MAX>(b, o);
  }
  return b;
}

__device__ __forceinline__ double warp_sum(double s) {
#pragma unroll
  for (int off = 16; off >= 1; off >>= 1) s += __shfl_xor_sync(0xffffffffu, s, off);
  return s;
}

// inner == 1: one warp per row of R contiguous values (rows grid-strided over warps).
template <int OP>  // 0 sum/mean, 1 max, 2 min
__global__ void reduce_rows_warp(const float* __restrict__ x, float* __restrict__ out, int32_t* __restrict__ idx,
                                 int64_t outer, int64_t R, double scale) {
  const int lane = threadIdx.x & 31;
  const int64_t warp = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  const int64_t nwarps = (int64_t(gridDim.x) * blockDim.x) >> 5;
  for (int64_t row = warp; row < outer; row += nwarps) {
    const float* p = x + row * R;
    if (OP == 0) {
      double s = 0.0;
      for (int64_t r = lane; r < R; r += 32) s += double(p[r]);
      s = warp_sum(s);
      if (lane == 0) out[row] = float(s * scale);
    } else {
      Best b{p[0], 0};
      for (int64_t r = lane; r < R; r += 32) b = pick<OP == 1>(b, Best{p[r], int32_t(r)});
      b = warp_pick<OP == 1>(b);
      if (lane == 0) {
        out[row] = b.v;
        if (idx) idx[row] = b.i;
      }
    }
  }
}

// inner == 1, few long rows: one block of 1024 threads per row.
template <int OP>
__global__ void reduce_rows_block(const float* __restrict__ x, float* __restrict__ out, int32_t* __restrict__ idx,
                                  int64_t outer, int64_t R, double scale) {
  FSNN_SHARED(double, ssum, [32]);
  FSNN_SHARED(Best, sbest, [32]);
  const int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
  for (int64_t row = blockIdx.x; row < outer; row += gridDim.x) {
    const float* p = x + row * R;
    if (OP == 0) {
      double s = 0.0;
      for (int64_t r = threadIdx.x; r < R; r += blockDim.x) s += double(p[r]);
      s = warp_sum(s);
      if (lane == 0) ssum[w] = s;
      __syncthreads();
      if (w == 0) {
        double t = lane < nw ? ssum[lane] : 0.0;
        t = warp_sum(t);
        if (lane == 0) out[row] = float(t * scale);
      }
    } else {
      Best b{p[0], 0};
      for (int64_t r = threadIdx.x; r < R; r += blockDim.x) b = pick<OP == 1>(b, Best{p[r], int32_t(r)});
      b = warp_pick<OP == 1>(b);
      if (lane == 0) sbest[w] = b;
      __syncthreads();
      if (w == 0) {
        Best t = lane < nw ? sbest[lane] : sbest[0];
        t = warp_pick<OP == 1>(t);
        if (lane == 0) {
          out[row] = t.v;
          if (idx) idx[row] = t.i;
        }
      }
    }
    __syncthreads();
  }
}

// inner > 1: block (32, Y): x over 32 consecutive inner positions (coalesced), y splits the reduced
// dimension; tiles (outer x inner/32) are grid-strided.
template <int OP>
__global__ void reduce_inner(const float* __restrict__ x, float* __restrict__ out, int32_t* __restrict__ idx,
                             int64_t outer, int64_t R, int64_t inner, double scale) {
  FSNN_DYNAMIC_SHARED(unsigned char, smem_raw);
  const int Y = blockDim.y;
  double* ssum = reinterpret_cast<double*>(smem_raw);     // [Y][32]
  Best* sbest = reinterpret_cast<Best*>(smem_raw);         // [Y][32] (same storage, one op per launch)
  const int64_t itiles = (inner + 31) / 32;
  const int64_t ntiles = outer * itiles;
  for (int64_t t = blockIdx.x; t < ntiles; t += gridDim.x) {
    const int64_t o = t / itiles;
    const int64_t i = (t % itiles) * 32 + threadIdx.x;
    const bool ok = i < inner;
    const float* base = x + o * R * inner + (ok ? i : 0);
    if (OP == 0) {
      double s = 0.0;
      if (ok)
        for (int64_t r = threadIdx.y; r < R; r += Y) s += double(base[r * inner]);
      ssum[threadIdx.y * 32 + threadIdx.x] = s;
      __syncthreads();
      if (threadIdx.y == 0 && ok) {
        double tot = 0.0;
        for (int y = 0; y < Y; ++y) tot += ssum[y * 32 + threadIdx.x];
        out[o * inner + i] = float(tot * scale);
      }
    } else {
      Best b{base[0], 0};
      if (ok)
        for (int64_t r = threadIdx.y; r < R; r += Y) b = pick<OP == 1>(b, Best{base[r * inner], int32_t(r)});
      sbest[threadIdx.y * 32 + threadIdx.x] = b;
      __syncthreads();
      if (threadIdx.y == 0 && ok) {
        Best tot = sbest[threadIdx.x];
        for (int y = 1; y < Y; ++y) tot = pick<OP == 1>(tot, sbest[y * 32 + threadIdx.x]);
        out[o * inner + i] = tot.v;
        if (idx) idx[o * inner + i] = tot.i;
      }
    }
    __syncthreads();
  }
}

// ---- split sums (fixed chunks over many blocks, then the chunks in order) ----
constexpr int64_t kRowChunk = 4096;   // inner == 1: elements of a row per stage-1 block
constexpr int kRowThreads = 256;
constexpr int64_t kColChunk = 512;    // inner > 1: reduced rows per stage-1 block
constexpr int kColY = 8;              // block (32, kColY) for the column sums
constexpr int64_t kSplitMinChunks = 2;    // split when the reduced length spans at least this many chunks
constexpr int64_t kSplitMaxOutputs = 4096;  // ... and the outputs are few (else one pass has parallelism enough)

// inner == 1, stage 1: block (chunk c, row) sums x[row][c*kRowChunk ...) : thread t adds every
// kRowThreads-th element from t in order, then a warp xor tree, then the warps in order.
__global__ void __launch_bounds__(kRowThreads)
    sum_rows_chunks(const float* __restrict__ x, int64_t R, int64_t nchunks, double* __restrict__ part) {
  FSNN_SHARED(double, sw, [kRowThreads / 32]);
  const int64_t row = blockIdx.y, c = blockIdx.x;
  const float* p = x + row * R;
  const int64_t r0 = c * kRowChunk, r1 = r0 + kRowChunk < R ? r0 + kRowChunk : R;
  double s = 0.0;
  for (int64_t r = r0 + threadIdx.x; r < r1; r += kRowThreads) s += double(p[r]);
  s = warp_sum(s);
  if ((threadIdx.x & 31) == 0) sw[threadIdx.x >> 5] = s;
  __syncthreads();
  if (threadIdx.x == 0) {
    double t = 0.0;
    for (int w = 0; w < kRowThreads / 32; ++w) t += sw[w];
    part[row * nchunks + c] = t;
  }
}

// inner > 1, stage 1: block (tile, chunk) sums rows [chunk*kColChunk ...) of 32 consecutive inner
// positions of one outer index: thread (x, y) adds every kColY-th row from y in order, then the y
// slices in order. part: [outer][nchunks][inner].
__global__ void __launch_bounds__(32 * kColY)
    sum_cols_chunks(const float* __restrict__ x, int64_t outer, int64_t R, int64_t inner, int64_t nchunks,
                    double* __restrict__ part) {
  FSNN_SHARED(double, ss, [kColY][32]);
  const int64_t itiles = (inner + 31) / 32;
  const int64_t t = blockIdx.x, c = blockIdx.y;
  const int64_t o = t / itiles, i = (t % itiles) * 32 + threadIdx.x;
  const bool ok = i < inner;
  const int64_t r0 = c * kColChunk, r1 = r0 + kColChunk < R ? r0 + kColChunk : R;
  double s = 0.0;
  if (ok)
    for (int64_t r = r0 + threadIdx.y; r < r1; r += kColY) s += double(x[(o * R + r) * inner + i]);
  ss[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y == 0 && ok) {
    double tot = 0.0;
    for (int y = 0; y < kColY; ++y) tot += ss[y][threadIdx.x];
    part[(o * nchunks + c) * inner + i] = tot;
  }
}

// Stage 2: out[o * inner + i] = float(scale * sum_c part[o][c][i]), chunks in order (inner == 1:
// part [outer][nchunks]).
__global__ void sum_chunks_finish(const double* __restrict__ part, int64_t outer, int64_t nchunks, int64_t inner,
                                  double scale, float* __restrict__ out) {
  FSNN_GRID_LOOP(e, outer * inner) {
    const int64_t o = e / inner, i = e % inner;
    double s = 0.0;
    for (int64_t c = 0; c < nchunks; ++c) s += part[(o * nchunks + c) * inner + i];
    out[e] = float(s * scale);
  }
}

// Whether a sum takes the split path: the decision depends only on the shape.
bool split_sum(const ReducePlan& pl) {
  const int64_t chunk = pl.inner == 1 ? kRowChunk : kColChunk;
  return pl.reduce >= kSplitMinChunks * chunk && pl.outer * pl.inner <= kSplitMaxOutputs;
}

void launch_split_sum(const float* x, float* out, const ReducePlan& pl, double scale) {
  cudaStream_t s = the_backend().stream();
  if (pl.outer > 65535) fail("reduce: too many outer rows for the split sum");
  const int64_t chunk = pl.inner == 1 ? kRowChunk : kColChunk;
  const int64_t nchunks = (pl.reduce + chunk - 1) / chunk;
  DeviceTemp part(size_t(pl.outer) * size_t(nchunks) * size_t(pl.inner) * sizeof(double));
  if (pl.inner == 1) {
    launch(sum_rows_chunks, dim3(unsigned(nchunks), unsigned(pl.outer)), dim3(kRowThreads), 0, s, x, pl.reduce, nchunks,
           part.as<double>());
  } else {
    const int64_t tiles = pl.outer * ((pl.inner + 31) / 32);
    if (nchunks > 65535) fail("reduce: the reduced dimension is too long for the split sum");
    launch(sum_cols_chunks, dim3(unsigned(tiles), unsigned(nchunks)), dim3(32, kColY), 0, s, x, pl.outer, pl.reduce,
           pl.inner, nchunks, part.as<double>());
  }
  check_launch("reduce (sum, chunks)");
  launch(sum_chunks_finish, grid_for(pl.outer * pl.inner, kThreads), dim3(kThreads), 0, s, (const double*)part.as<double>(),
         pl.outer, nchunks, pl.inner, scale, out);
  check_launch("reduce (sum, chunks in order)");
}

template <int OP>
void launch_reduce(const float* x, float* out, int32_t* idx, const ReducePlan& pl, double scale) {
  CudaBackend& be = the_backend();
  cudaStream_t s = be.stream();
  const int sms = be.sm_count();
  if (OP == 0 && split_sum(pl)) return launch_split_sum(x, out, pl, scale);
  if (pl.inner == 1) {
    // Max / min only (sums of long rows over few rows take the split path): the pick is exact, so the
    // path does not change the result.
    if (OP != 0 && pl.outer < 2 * int64_t(sms) && pl.reduce >= 4096) {
      launch(reduce_rows_block<OP>, dim3(unsigned(pl.outer)), dim3(1024), 0, s, x, out, idx, pl.outer, pl.reduce, scale);
    } else {
      const int64_t warps = pl.outer;
      const int64_t blocks = std::min<int64_t>((warps * 32 + kThreads - 1) / kThreads, int64_t(sms) * 32);
      launch(reduce_rows_warp<OP>, dim3(unsigned(std::max<int64_t>(blocks, 1))), dim3(kThreads), 0, s, x, out, idx,
             pl.outer, pl.reduce, scale);
    }
  } else {
    const int64_t tiles = pl.outer * ((pl.inner + 31) / 32);
    // Sums: Y fixed, so that the order of additions does not depend on the GPU.
    const int Y = OP == 0 ? 8 : ((tiles < int64_t(sms) && pl.reduce >= 64) ? 32 : 8);
    const size_t smem = size_t(Y) * 32 * std::max(sizeof(double), sizeof(Best));
    const unsigned blocks = unsigned(std::min<int64_t>(tiles, int64_t(sms) * 16));
    launch(reduce_inner<OP>, dim3(blocks), dim3(32, Y), smem, s, x, out, idx, pl.outer, pl.reduce, pl.inner, scale);
  }
  check_launch("reduce");
}

// ---------------------------------------------------------------------------------------------
// Layout
// ---------------------------------------------------------------------------------------------
// out element e (row-major over a.a = out shape) reads x at sum_d coord_d * a.b[d].
template <typename IT>
__global__ void permute_kernel(const float* __restrict__ x, float* __restrict__ out, IT n, DimArgs a) {
  for (IT e = IT(blockIdx.x) * blockDim.x + threadIdx.x; e < n; e += IT(blockDim.x) * gridDim.x) {
    IT rem = e, off = 0;
    for (int d = a.nd - 1; d >= 0; --d) {
      const IT s = IT(a.a[d]);
      off += (rem % s) * IT(a.b[d]);
      rem /= s;
    }
    out[e] = x[off];
  }
}

// Batched 2-D transpose through shared memory: x [B][R][C] -> out [B][C][R].
__global__ void transpose_kernel(const float* __restrict__ x, float* __restrict__ out, int64_t B, int64_t R, int64_t C) {
  FSNN_SHARED(float, tile, [32][33]);
  const int64_t tr = (R + 31) / 32, tc = (C + 31) / 32;
  const int64_t ntiles = B * tr * tc;
  for (int64_t t = blockIdx.x; t < ntiles; t += gridDim.x) {
    const int64_t b = t / (tr * tc), rt = (t / tc) % tr, ct = t % tc;
    const float* xb = x + b * R * C;
    float* ob = out + b * R * C;
    for (int k = threadIdx.y; k < 32; k += blockDim.y) {
      const int64_t r = rt * 32 + k, c = ct * 32 + threadIdx.x;
      if (r < R && c < C) tile[k][threadIdx.x] = xb[r * C + c];
    }
    __syncthreads();
    for (int k = threadIdx.y; k < 32; k += blockDim.y) {
      const int64_t c = ct * 32 + k, r = rt * 32 + threadIdx.x;
      if (r < R && c < C) ob[c * R + r] = tile[threadIdx.x][k];
    }
    __syncthreads();
  }
}

// x [outer, dim, inner] -> out [outer, out_dim, inner], row j from x row start + j*step; ACC: out is the
// zero-filled gradient [outer, dim, inner] and rows are added (slice_backward).
template <bool BACKWARD>
__global__ void slice_kernel(const float* __restrict__ src, float* __restrict__ dst, int64_t n, int64_t dim,
                             int64_t inner, int64_t start, int64_t step, int64_t out_dim) {
  FSNN_GRID_LOOP(e, n) {
    const int64_t i = e % inner, r = e / inner;
    const int64_t o = r / out_dim, j = r % out_dim;
    const int64_t full = (o * dim + start + j * step) * inner + i;
    if (BACKWARD) dst[full] += src[e];
    else dst[e] = src[full];
  }
}

__global__ void copy_block_kernel(const float* __restrict__ x, float* __restrict__ out, int64_t n, int64_t x_row,
                                  int64_t out_row, int64_t col) {
  FSNN_GRID_LOOP(e, n) {
    const int64_t r = e / x_row, c = e % x_row;
    out[r * out_row + col + c] = x[e];
  }
}

// e over [outer, n_idx, inner] (the selected / source layout).
template <bool ADD>
__global__ void index_kernel(const float* __restrict__ src, float* __restrict__ dst, const int32_t* __restrict__ idx,
                             int64_t n, int64_t dim, int64_t inner, int64_t n_idx) {
  FSNN_GRID_LOOP(e, n) {
    const int64_t i = e % inner, r = e / inner;
    const int64_t o = r / n_idx, j = r % n_idx;
    const int64_t full = (o * dim + idx[j]) * inner + i;
    if (ADD) atomicAdd(dst + full, src[e]);
    else dst[e] = src[full];
  }
}

// p over the index shape a.a; the full tensor's strides a.b; coordinate `dim` replaced by idx[p].
template <bool ADD>
__global__ void gather_kernel(const float* __restrict__ src, float* __restrict__ dst, const int32_t* __restrict__ idx,
                              int64_t n, int dim, DimArgs a) {
  FSNN_GRID_LOOP(p, n) {
    int64_t rem = p, off = 0;
    for (int d = a.nd - 1; d >= 0; --d) {
      const int64_t c = rem % a.a[d];
      rem /= a.a[d];
      off += (d == dim ? int64_t(idx[p]) : c) * a.b[d];
    }
    if (ADD) atomicAdd(dst + off, src[p]);
    else dst[p] = src[off];
  }
}

DimArgs dim_args(const char* op, const Shape& a, const Shape& b) {
  if (a.size() > size_t(kMaxDims))
    fail(op, ": tensors with ", a.size(), " dimensions are not supported by the CUDA backend (at most ", kMaxDims,
         "); reshape to fewer dimensions");
  DimArgs d{};
  d.nd = static_cast<int>(a.size());
  for (size_t k = 0; k < a.size(); ++k) {
    d.a[k] = a[k];
    d.b[k] = b[k];
  }
  return d;
}

}  // namespace

void CudaBackend::reduce(ReduceOp op, const Tensor& x, const ReducePlan& pl, Tensor& out, Tensor* indices) {
  if (out.numel() == 0) return;
  if (pl.reduce == 0) {  // sum of nothing (Max/Min of nothing is rejected by ops.cc)
    if (op == ReduceOp::Mean) fill(out, std::nanf(""));
    else fill(out, 0.f);
    return;
  }
  int32_t* idx = indices ? indices->idata() : nullptr;
  switch (op) {
    case ReduceOp::Sum: return launch_reduce<0>(x.data(), out.data(), nullptr, pl, 1.0);
    case ReduceOp::Mean: return launch_reduce<0>(x.data(), out.data(), nullptr, pl, 1.0 / double(pl.reduce));
    case ReduceOp::Max: return launch_reduce<1>(x.data(), out.data(), idx, pl, 1.0);
    case ReduceOp::Min: return launch_reduce<2>(x.data(), out.data(), idx, pl, 1.0);
  }
}

void CudaBackend::permute(const Tensor& x, const std::vector<int64_t>& perm, Tensor& out) {
  const int64_t n = out.numel();
  if (n == 0) return;
  const int64_t nd = static_cast<int64_t>(perm.size());
  // Drop size-1 dims and merge runs of dims that stay adjacent and in order: the permutation in its
  // smallest form. [B, R, C] -> [B, C, R] (or [R, C] -> [C, R]) goes through the tiled transpose.
  std::vector<int64_t> keep;  // output dims (in output order) with size > 1, as input dim numbers
  for (int64_t d = 0; d < nd; ++d)
    if (x.shape[perm[d]] != 1) keep.push_back(perm[d]);
  // rank[d]: position of input dim d among the kept input dims (dropped size-1 dims do not separate).
  std::vector<int64_t> sorted_keep(keep), rank(nd, -1);
  std::sort(sorted_keep.begin(), sorted_keep.end());
  for (size_t k = 0; k < sorted_keep.size(); ++k) rank[sorted_keep[k]] = int64_t(k);
  std::vector<std::vector<int64_t>> groups;  // runs of input dims that stay adjacent and in order
  for (int64_t in : keep) {
    if (!groups.empty() && rank[groups.back().back()] + 1 == rank[in]) groups.back().push_back(in);
    else groups.push_back({in});
  }
  // Sizes of the groups, in output order, and the input order of the groups.
  const size_t G = groups.size();
  std::vector<int64_t> gsize(G, 1);
  for (size_t g = 0; g < G; ++g)
    for (int64_t d : groups[g]) gsize[g] *= x.shape[d];
  std::vector<size_t> in_order(G);
  for (size_t g = 0; g < G; ++g) in_order[g] = g;
  std::sort(in_order.begin(), in_order.end(), [&](size_t a, size_t b) { return groups[a][0] < groups[b][0]; });
  // Input strides of each group (row-major over the groups in input order).
  std::vector<int64_t> gstride(G, 1);
  {
    int64_t s = 1;
    for (size_t k = G; k-- > 0;) {
      gstride[in_order[k]] = s;
      s *= gsize[in_order[k]];
    }
  }
  if (G <= 1) {  // the permutation moves only size-1 dims: a copy
    copy_device(out.data(), x.data(), size_t(n) * 4);
    return;
  }
  const bool swap_last = (G == 2 && in_order[0] == 1) ||
                         (G == 3 && in_order[0] == 0 && in_order[1] == 2 && in_order[2] == 1);
  if (swap_last) {
    const int64_t B = G == 3 ? gsize[0] : 1;
    const int64_t C = gsize[G - 2], R = gsize[G - 1];  // out [B][C][R] from x [B][R][C]
    const int64_t tiles = B * ((R + 31) / 32) * ((C + 31) / 32);
    launch(transpose_kernel, unsigned(std::min<int64_t>(tiles, int64_t(sm_count_) * 32)), dim3(32, 8), 0, stream_, x.data(), out.data(), B, R, C);
    check_launch("permute (transpose)");
    return;
  }
  Shape gs(G), st(G);
  for (size_t g = 0; g < G; ++g) {
    gs[g] = gsize[g];
    st[g] = gstride[g];
  }
  const DimArgs a = dim_args("permute", gs, st);
  if (n < (int64_t(1) << 31))
    launch(permute_kernel<uint32_t>, grid_for(n, kThreads), kThreads, 0, stream_, x.data(), out.data(), uint32_t(n), a);
  else
    launch(permute_kernel<uint64_t>, grid_for(n, kThreads), kThreads, 0, stream_, x.data(), out.data(), uint64_t(n), a);
  check_launch("permute");
}

void CudaBackend::slice(const Tensor& x, int64_t outer, int64_t dim, int64_t inner, int64_t start, int64_t step,
                        int64_t out_dim, Tensor& out) {
  const int64_t n = outer * out_dim * inner;
  if (n == 0) return;
  launch(slice_kernel<false>, grid_for(n, kThreads), kThreads, 0, stream_, x.data(), out.data(), n, dim, inner, start, step, out_dim);
  check_launch("slice");
}

void CudaBackend::slice_backward(const Tensor& grad, int64_t outer, int64_t dim, int64_t inner, int64_t start,
                                 int64_t step, int64_t out_dim, Tensor& grad_in) {
  const int64_t n = outer * out_dim * inner;
  if (n == 0) return;
  // Each selected row is a distinct row of grad_in: no two threads write one element.
  launch(slice_kernel<true>, grid_for(n, kThreads), kThreads, 0, stream_, grad.data(), grad_in.data(), n, dim, inner, start, step, out_dim);
  check_launch("slice_backward");
}

void CudaBackend::copy_block(const Tensor& x, int64_t outer, int64_t x_row, Tensor& out, int64_t out_row, int64_t col) {
  const int64_t n = outer * x_row;
  if (n == 0) return;
  launch(copy_block_kernel, grid_for(n, kThreads), kThreads, 0, stream_, x.data(), out.data(), n, x_row, out_row, col);
  check_launch("concat (copy_block)");
}

void CudaBackend::index_select(const Tensor& x, int64_t outer, int64_t dim, int64_t inner, const int32_t* idx,
                               int64_t n_idx, Tensor& out) {
  const int64_t n = outer * n_idx * inner;
  if (n == 0) return;
  DeviceTemp d_idx(idx, size_t(n_idx) * 4);
  launch(index_kernel<false>, grid_for(n, kThreads), kThreads, 0, stream_, x.data(), out.data(), d_idx.as<int32_t>(), n, dim, inner, n_idx);
  check_launch("indexSelect");
}

void CudaBackend::index_add(const Tensor& src, int64_t outer, int64_t dim, int64_t inner, const int32_t* idx,
                            int64_t n_idx, Tensor& out) {
  const int64_t n = outer * n_idx * inner;
  if (n == 0) return;
  DeviceTemp d_idx(idx, size_t(n_idx) * 4);
  launch(index_kernel<true>, grid_for(n, kThreads), kThreads, 0, stream_, src.data(), out.data(), d_idx.as<int32_t>(), n, dim, inner, n_idx);
  check_launch("indexAdd");
}

void CudaBackend::gather(const Tensor& x, int64_t dim, const int32_t* idx, const Shape& ishape, Tensor& out) {
  const int64_t n = shape_numel(ishape);
  if (n == 0) return;
  const DimArgs a = dim_args("gather", ishape, contiguous_strides(x.shape));
  DeviceTemp d_idx(idx, size_t(n) * 4);
  launch(gather_kernel<false>, grid_for(n, kThreads), kThreads, 0, stream_, x.data(), out.data(), d_idx.as<int32_t>(), n, int(dim), a);
  check_launch("gather");
}

void CudaBackend::scatter_add(const Tensor& src, int64_t dim, const int32_t* idx, const Shape& ishape, Tensor& out) {
  const int64_t n = shape_numel(ishape);
  if (n == 0) return;
  const DimArgs a = dim_args("scatterAdd", ishape, contiguous_strides(out.shape));
  DeviceTemp d_idx(idx, size_t(n) * 4);
  launch(gather_kernel<true>, grid_for(n, kThreads), kThreads, 0, stream_, src.data(), out.data(), d_idx.as<int32_t>(), n, int(dim), a);
  check_launch("scatterAdd");
}

}  // namespace cuda
}  // namespace fsnn
