#pragma once
// Everything a reload replaces, built in full before it is swapped in. Requests in flight keep
// the runtime they started with.
#include <memory>

#include "eap/tls_session.h"
#include "ldap/directory.h"
#include "policy/config.h"
#include "server/client_table.h"

namespace npsd::server {

struct runtime {
  std::shared_ptr<const policy::config> cfg;  // holds the dictionary and the policies
  std::shared_ptr<ldap::directory> directory;
  client_table clients;
  std::shared_ptr<const eap::tls_context> tls;  // null when EAP is not configured
  std::string crl_signature;  // the CRL files' names, sizes and times when tls was built

  runtime(std::shared_ptr<const policy::config> c, std::shared_ptr<ldap::directory> dir,
          std::shared_ptr<const eap::tls_context> t)
      : cfg(std::move(c)), directory(std::move(dir)), clients(cfg->clients), tls(std::move(t)) {}
};

}  // namespace npsd::server
