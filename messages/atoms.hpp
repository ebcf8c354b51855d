#pragma once

#include <caf/atom.hpp>

// Every atom of expd's actor protocol, in one place (CAF 0.17: at most 10 characters).
namespace expd::atom {

using access = caf::atom_constant<caf::atom("access")>;
using advance = caf::atom_constant<caf::atom("advance")>;
using aggregate = caf::atom_constant<caf::atom("aggregate")>;
using apply = caf::atom_constant<caf::atom("apply")>;
using apply_groups = caf::atom_constant<caf::atom("applygroup")>;
using apply_types = caf::atom_constant<caf::atom("applytypes")>;
using assign = caf::atom_constant<caf::atom("assign")>;
using barrier = caf::atom_constant<caf::atom("barrier")>;
using build = caf::atom_constant<caf::atom("build")>;
using cancel = caf::atom_constant<caf::atom("cancel")>;
using catalog = caf::atom_constant<caf::atom("catalog")>;
using consumed = caf::atom_constant<caf::atom("consumed")>;
using drain = caf::atom_constant<caf::atom("drain")>;
using drop_group = caf::atom_constant<caf::atom("dropgroup")>;
using drain_node = caf::atom_constant<caf::atom("drainnode")>;
using finished = caf::atom_constant<caf::atom("finished")>;
using flush = caf::atom_constant<caf::atom("flush")>;
using forget_node = caf::atom_constant<caf::atom("forgetnode")>;
using generate = caf::atom_constant<caf::atom("generate")>;
using get = caf::atom_constant<caf::atom("get")>;
using health = caf::atom_constant<caf::atom("health")>;
using held = caf::atom_constant<caf::atom("held")>;
using hello = caf::atom_constant<caf::atom("hello")>;
using ingest = caf::atom_constant<caf::atom("ingest")>;
using lease = caf::atom_constant<caf::atom("lease")>;
using leave = caf::atom_constant<caf::atom("leave")>;
using linked = caf::atom_constant<caf::atom("linked")>;
using load = caf::atom_constant<caf::atom("load")>;
using list = caf::atom_constant<caf::atom("list")>;
using list_groups = caf::atom_constant<caf::atom("listgroups")>;
using list_types = caf::atom_constant<caf::atom("listtypes")>;
using logs = caf::atom_constant<caf::atom("logs")>;
using nodes = caf::atom_constant<caf::atom("nodes")>;
using plan = caf::atom_constant<caf::atom("plan")>;
using prepare = caf::atom_constant<caf::atom("prepare")>;
using progress = caf::atom_constant<caf::atom("progress")>;
using query = caf::atom_constant<caf::atom("query")>;
using record = caf::atom_constant<caf::atom("record")>;
using reload = caf::atom_constant<caf::atom("reload")>;
using remember = caf::atom_constant<caf::atom("remember")>;
using results = caf::atom_constant<caf::atom("results")>;
using runs = caf::atom_constant<caf::atom("runs")>;
using routing = caf::atom_constant<caf::atom("routing")>;
using series = caf::atom_constant<caf::atom("series")>;
using set_status = caf::atom_constant<caf::atom("setstatus")>;
using snapshot = caf::atom_constant<caf::atom("snapshot")>;
using spooled = caf::atom_constant<caf::atom("spooled")>;
using status = caf::atom_constant<caf::atom("status")>;
using stop = caf::atom_constant<caf::atom("stop")>;
using stored = caf::atom_constant<caf::atom("stored")>;
using submit = caf::atom_constant<caf::atom("submit")>;
using subscribe = caf::atom_constant<caf::atom("subscribe")>;
using tick = caf::atom_constant<caf::atom("tick")>;
using train = caf::atom_constant<caf::atom("train")>;
using trigger = caf::atom_constant<caf::atom("trigger")>;

} // namespace expd::atom
