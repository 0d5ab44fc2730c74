#pragma once
// Turns a network policy's configured reply attributes into wire attributes for one reply:
// vendor attributes wrapped in Vendor-Specific in their vendor's layout, encrypt=2 attributes
// (Tunnel-Password) salt-encrypted with this request's authenticator. Also the Class value
// that ties accounting back to the Access-Accept.
#include <string>
#include <string_view>

#include "policy/model.h"
#include "radius/dictionary.h"
#include "radius/packet.h"

namespace npsd::server {

expected<radius::attribute, std::string> encode_reply_attribute(
    const policy::reply_attribute& a, const radius::dictionary& dict, std::string_view secret,
    const radius::authenticator_t& request_authenticator);

// A Class value unique to this Access-Accept: "npsd:" + boot time + per-process random +
// a counter, so no two Accepts of this server, before or after a restart, share one.
std::string make_class_value();

// MS-MPPE-Recv-Key = MSK[0..31] and MS-MPPE-Send-Key = MSK[32..63] (RFC 2548 2.4, RFC 5216
// 2.3), salt-encrypted with the shared secret and the request's authenticator: what RRAS
// needs to bring up an IKEv2 tunnel after EAP.
void add_mppe_keys(radius::packet& reply, const radius::bytes& msk, std::string_view secret,
                   const radius::authenticator_t& request_authenticator);

}  // namespace npsd::server
