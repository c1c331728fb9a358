#include "actors/transfer/movers.hpp"
#include "net/globus/globus_mover.hpp"
#include "runtime/config.hpp"

namespace librarian::transfer {

expected<std::shared_ptr<async_mover>> make_globus_mover(const node_config& cfg) {
  const auto& l = cfg.librarian;
  if (!l.globus_enable)
    return fail(errc::invalid_argument,
                "the globus mover needs librarian.globus_enable: true (see docs/globus.md)");
  globus::globus_config_keys keys;
  keys.client_id = l.globus_client_id;
  keys.client_native_app = l.globus_client_native_app;
  keys.local_endpoint_id = l.globus_local_endpoint_id;
  keys.client_secret_file = l.globus_client_secret_file;
  keys.local_root = l.globus_local_root;
  keys.auth_url = l.globus_auth_url;
  keys.transfer_url = l.globus_transfer_url;
  keys.encrypt_transfers = l.globus_encrypt_transfers;
  auto settings = globus::globus_settings_from(keys);
  if (!settings) return settings.err();
  auto mover = globus::globus_mover::create(std::move(*settings));
  if (!mover) return mover.err();
  return std::shared_ptr<async_mover>{std::move(*mover)};
}

}  // namespace librarian::transfer
