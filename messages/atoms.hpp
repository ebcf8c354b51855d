#pragma once

#include <caf/atom.hpp>

// Every atom of expd's actor protocol, in one place (CAF 0.17: at most 10 characters).
namespace expd::atom {

using apply = caf::atom_constant<caf::atom("apply")>;
using assign = caf::atom_constant<caf::atom("assign")>;
using drain = caf::atom_constant<caf::atom("drain")>;
using flush = caf::atom_constant<caf::atom("flush")>;
using health = caf::atom_constant<caf::atom("health")>;
using list = caf::atom_constant<caf::atom("list")>;
using record = caf::atom_constant<caf::atom("record")>;
using remember = caf::atom_constant<caf::atom("remember")>;
using set_status = caf::atom_constant<caf::atom("setstatus")>;
using snapshot = caf::atom_constant<caf::atom("snapshot")>;
using status = caf::atom_constant<caf::atom("status")>;
using stop = caf::atom_constant<caf::atom("stop")>;
using subscribe = caf::atom_constant<caf::atom("subscribe")>;
using tick = caf::atom_constant<caf::atom("tick")>;

} // namespace expd::atom
