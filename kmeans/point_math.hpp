#pragma once
// The per-point arithmetic of k-means, written once for the host and the GPU. The CPU kernels and the
// CUDA kernels both call these functions, so the CPU tests cover the code the GPU runs and both give
// the same bits: the operations are the same IEEE ones in the same order, never contracted into FMA
// (the device branch uses the explicitly rounded intrinsics, which nvcc never fuses).
#include <cstdint>

#if defined(__CUDACC__)
#define DKM_HD __host__ __device__
#else
#define DKM_HD
#endif

namespace dkm::kmeans {

DKM_HD inline float add_f32(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}

DKM_HD inline float sub_f32(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fsub_rn(a, b);
#else
  return a - b;
#endif
}

DKM_HD inline float mul_f32(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}

DKM_HD inline double add_f64(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dadd_rn(a, b);
#else
  return a + b;
#endif
}

DKM_HD inline double sub_f64(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dsub_rn(a, b);
#else
  return a - b;
#endif
}

DKM_HD inline double mul_f64(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}

// Squared Euclidean distance in float: s = (x_0 - c_0)^2, then s += (x_j - c_j)^2 for j = 1..dim-1.
// (Starting from 0 would give the same bits, as 0 + p == p for every square p, at one more add per pair.)
DKM_HD inline float point_squared_distance(const float* x, const float* c, int64_t dim) {
  if (dim <= 0) return 0;
  const float diff0 = sub_f32(x[0], c[0]);
  float s = mul_f32(diff0, diff0);
  for (int64_t j = 1; j < dim; ++j) {
    const float diff = sub_f32(x[j], c[j]);
    s = add_f32(s, mul_f32(diff, diff));
  }
  return s;
}

// The same with the dimension fixed at compile time (the point stays in registers); same bits.
template <int D>
DKM_HD inline float point_squared_distance_fixed(const float (&x)[D], const float* c) {
  const float diff0 = sub_f32(x[0], c[0]);
  float s = mul_f32(diff0, diff0);
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
  for (int j = 1; j < D; ++j) {
    const float diff = sub_f32(x[j], c[j]);
    s = add_f32(s, mul_f32(diff, diff));
  }
  return s;
}

// Squared distance in double (k-means++ seeding): s = 0, then s += (double(x_j) - double(c_j))^2.
DKM_HD inline double point_squared_distance_f64(const float* x, const float* c, int64_t dim) {
  double s = 0;
  for (int64_t j = 0; j < dim; ++j) {
    const double diff = sub_f64(static_cast<double>(x[j]), static_cast<double>(c[j]));
    s = add_f64(s, mul_f64(diff, diff));
  }
  return s;
}

// One step of the argmin over centres visited in increasing index order: a strictly smaller distance
// wins, so an exact tie keeps the lower index.
DKM_HD inline void keep_nearest(float d2, int32_t center, float& best_d2, int32_t& best_center) {
  if (d2 < best_d2) {
    best_d2 = d2;
    best_center = center;
  }
}

struct Nearest {
  int32_t center;  // lowest index among the nearest centres
  float d2;        // its squared distance
};

// Nearest of K centres (K x dim, row-major) to x. With every distance infinite the answer is centre 0.
DKM_HD inline Nearest nearest_center(const float* x, const float* centers, int64_t k, int64_t dim) {
  Nearest r{0, __builtin_huge_valf()};
  for (int64_t c = 0; c < k; ++c)
    keep_nearest(point_squared_distance(x, centers + c * dim, dim), static_cast<int32_t>(c), r.d2, r.center);
  return r;
}

// Scalars (the sorted 1-D path): an unsigned key whose order is the float order (-0 before +0).
DKM_HD inline uint32_t scalar_sort_key(uint32_t float_bits) {
  return (float_bits & 0x80000000u) ? ~float_bits : (float_bits ^ 0x80000000u);
}

// One chunk's own prefix sums of sorted scalars, sequential from zero, so that the host and the GPU (one
// thread per chunk) build them alike; both then add the earlier chunks' totals, in chunk order, as the
// chunk's base (kmeans/scalar_1d.hpp). local[j] and local_sq[j] get the sums of v[0..j] and v[0..j]^2.
DKM_HD inline void chunk_prefix(const float* v, int64_t count, double* local, double* local_sq) {
  double s = 0, sq = 0;
  for (int64_t j = 0; j < count; ++j) {
    const double x = static_cast<double>(v[j]);
    s = add_f64(s, x);
    sq = add_f64(sq, mul_f64(x, x));  // exact: a float's square fits a double
    local[j] = s;
    local_sq[j] = sq;
  }
}

}  // namespace dkm::kmeans
