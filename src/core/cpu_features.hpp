// core/cpu_features: what the processor (and the OS, which must save the wider registers) lets
// us run, read once. Kernels pick their instruction-set variant from it at start-up.
#pragma once

#include <string>

namespace pensieve::core {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512dq = false;
  bool avx512_vnni = false;
  bool avx512_bf16 = false;
  bool avx_vnni = false;
  // The vendor is "AuthenticAMD": where AMD's and Intel's cores want different prefetching, a
  // kernel keeps the way measured on each (kernels/avx512/legacy_avx512.cpp).
  bool amd = false;

  bool has_avx2_set() const { return avx2 && fma && f16c; }
  // The AVX-512 variant needs these four; VNNI and BF16 are used where present.
  bool has_avx512_set() const { return has_avx2_set() && avx512f && avx512bw && avx512vl && avx512dq; }
  std::string describe() const;  // "avx2 fma f16c avx512f …"
};

const CpuFeatures& cpu_features();

}  // namespace pensieve::core
