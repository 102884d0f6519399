// kernels/isa: the instruction-set variants of the kernels and which one runs. The variant is
// chosen once, at first use: the best the CPU supports, or PENSIEVE_ISA=scalar|avx2|avx512 (tests
// run the fixture suite under each). Asking for a variant the CPU lacks is an error, not a silent
// downgrade.
#pragma once

#include <span>
#include <string_view>

#include "core/result.hpp"

namespace pensieve::kernels {

enum class Isa {
  kScalar,  // portable C++: the oracle every other variant is tested against
  kAvx2,    // AVX2 + FMA + F16C
  kAvx512,  // AVX-512 F/BW/VL/DQ with VNNI
};

std::string_view name_of(Isa isa);
Result<Isa> parse_isa(std::string_view name);
bool cpu_supports(Isa isa);
std::span<const Isa> supported_isas();  // on this CPU, scalar first

// The variant in use: PENSIEVE_ISA when set (an unknown or unsupported name is fatal, with a
// message), else the best supported.
Isa active_isa();
// The variant PENSIEVE_ISA asks for (the best supported when unset), or why it cannot be had.
Result<Isa> isa_from_environment();

}  // namespace pensieve::kernels
