#include "runtime/random_uuid.hpp"

#include <random>

namespace expd::runtime {

core::uuid random_uuid() {
  thread_local std::mt19937_64 gen{[] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd(), rd(), rd(), rd(), rd()};
    return std::mt19937_64{seq};
  }()};
  core::uuid id{gen(), gen()};
  id.hi = (id.hi & ~0xf000ULL) | 0x4000ULL;                           // version 4
  id.lo = (id.lo & ~(0xc0ULL << 56)) | (0x80ULL << 56);               // RFC 4122 variant
  return id;
}

} // namespace expd::runtime
