#include "kernels/isa.hpp"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/cpu_features.hpp"
#include "core/log.hpp"

namespace pensieve::kernels {

std::string_view name_of(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
  }
  return "unknown";
}

Result<Isa> parse_isa(std::string_view name) {
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    if (name == name_of(isa)) return isa;
  }
  return make_error(ErrorCode::kInvalidArgument,
                    "unknown instruction set '" + std::string(name) + "' (expected scalar, avx2 or avx512)");
}

bool cpu_supports(Isa isa) {
#if defined(__x86_64__)
  const core::CpuFeatures& f = core::cpu_features();
  switch (isa) {
    case Isa::kScalar: return true;
    case Isa::kAvx2: return f.has_avx2_set();
    case Isa::kAvx512: return f.has_avx512_set() && f.avx512_vnni;
  }
  return false;
#else
  return isa == Isa::kScalar;
#endif
}

std::span<const Isa> supported_isas() {
  static const std::vector<Isa> isas = [] {
    std::vector<Isa> v;
    for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
      if (cpu_supports(isa)) v.push_back(isa);
    }
    return v;
  }();
  return isas;
}

Result<Isa> isa_from_environment() {
  const char* requested = std::getenv("PENSIEVE_ISA");
  if (requested == nullptr || *requested == '\0') return supported_isas().back();
  auto isa = parse_isa(requested);
  if (!isa) return isa.error().with_context("PENSIEVE_ISA");
  if (!cpu_supports(*isa)) {
    return make_error(ErrorCode::kUnsupported, "PENSIEVE_ISA=" + std::string(requested) +
                                                   ": this CPU lacks the instructions (it has: " +
                                                   core::cpu_features().describe() + ")");
  }
  return *isa;
}

Isa active_isa() {
  static const Isa isa = [] {
    auto chosen = isa_from_environment();
    if (!chosen) {
      // Running a different variant than the one asked for would make a test or benchmark lie.
      core::log::error(chosen.error().message);
      std::exit(2);
    }
    return *chosen;
  }();
  return isa;
}

}  // namespace pensieve::kernels
