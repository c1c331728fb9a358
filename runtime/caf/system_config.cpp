#include "runtime/caf/system_config.hpp"

#include <caf/atom.hpp>
#include <caf/io/middleman.hpp>
#include <caf/timespan.hpp>

#include "runtime/type_ids.hpp"

namespace librarian {

system_config::system_config(const system_options& options) {
  if (options.load_middleman) load<caf::io::middleman>();
  register_types(*this);
  set("logger.file-verbosity", caf::atom("quiet"));
  set("logger.console-verbosity", caf::atom("quiet"));
  if (options.testing_scheduler) {
    set("scheduler.policy", caf::atom("testing"));
  } else {
    set("scheduler.policy", options.scheduler == scheduler_policy::sharing ? caf::atom("sharing")
                                                                           : caf::atom("stealing"));
    set("middleman.heartbeat-interval", caf::timespan{options.heartbeat_interval});
    set("middleman.connection-timeout", caf::timespan{options.connection_timeout});
  }
  if (options.worker_threads > 0) set("scheduler.max-threads", options.worker_threads);
}

}  // namespace librarian
