#pragma once
// Attribute dictionaries in the FreeRADIUS file format: ATTRIBUTE, VALUE, VENDOR,
// BEGIN-VENDOR/END-VENDOR, BEGIN-TLV/END-TLV, $INCLUDE and $INCLUDE- (optional include).
// Reading the dictionary files is the only I/O here; errors are values naming file and line.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "radius/expected.h"
#include "radius/packet.h"

namespace npsd::radius {

// Data types of the FreeRADIUS dictionary format (RFC 8044 names most of them).
enum class attr_type : std::uint8_t {
  string,
  octets,
  ipaddr,
  ipv6addr,
  ipv6prefix,
  ipv4prefix,
  integer,
  date,
  byte,
  short_,
  integer64,
  signed_,
  ether,
  ifid,
  combo_ip,  // IPv4 or IPv6 address, told apart by length
  tlv,
  vsa,
  abinary,  // Ascend binary filters: kept as octets
};

// The dictionary spelling: "string", "short", "combo-ip", ...
std::string_view attr_type_name(attr_type t) noexcept;
// Case-insensitive inverse of attr_type_name; nullopt for anything else.
std::optional<attr_type> attr_type_from_name(std::string_view name) noexcept;

namespace detail {
// ASCII case-insensitive hashing and equality. Transparent, so lookups by string_view do
// not allocate.
struct ci_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept;
};
struct ci_equal {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept;
};
template <class T>
using ci_map = std::unordered_map<std::string, T, ci_hash, ci_equal>;

class loader;
}  // namespace detail

struct attribute_def {
  std::string name;                       // as written in the file
  std::uint32_t vendor = 0;               // 0 = standard attribute
  std::uint32_t number = 0;               // for TLV children: the child's own number
  const attribute_def* parent = nullptr;  // TLV parent, if any
  attr_type type = attr_type::octets;
  bool has_tag = false;  // RFC 2868 tag
  int encrypt = 0;       // 0 none, 1 User-Password (RFC 2865 5.2), 2 salt (RFC 2868 3.5), 3 Ascend
  bool concat = false;   // long values split over several attributes (EAP-Message)
  bool array = false;    // several fixed-size values packed in one attribute
  bool is_virtual = false;         // "virtual": server-side only, never on the wire
  bool secret = false;             // "secret": must not be shown in logs
  std::uint16_t fixed_length = 0;  // "octets[N]": the value is exactly N bytes; 0 = variable

  // A password or key: hidden on the wire (encrypt=) or flagged secret. Never shown.
  bool is_secret() const noexcept { return encrypt != 0 || secret; }

  // VALUE names of this attribute. Names are case-insensitive; when several names share a
  // number, name_of gives the first one defined.
  std::optional<std::uint32_t> value_of(std::string_view value_name) const noexcept;
  std::optional<std::string_view> name_of(std::uint32_t value) const noexcept;
  bool has_values() const noexcept { return !values_by_name_.empty(); }

 private:
  friend class detail::loader;
  detail::ci_map<std::uint32_t> values_by_name_;
  std::unordered_map<std::uint32_t, std::string> names_by_value_;
};

struct vendor_def {
  std::string name;
  std::uint32_t id = 0;
  std::uint8_t type_size = 1;    // 1, 2 or 4
  std::uint8_t length_size = 1;  // 0, 1 or 2
  bool continuation = false;     // "format=1,1,c" (WiMAX continuation byte)

  vsa_format format() const noexcept { return {type_size, length_size}; }
};

struct dictionary_error {
  std::string file;
  int line = 0;  // 0 when the error concerns the file as a whole
  std::string message;
  std::string to_string() const;  // "file:line: message" ("file: message" without a line)
};

class dictionary {
 public:
  dictionary() = default;
  // Movable, not copyable: the definitions live in deques, so every attribute_def* and
  // vendor_def* handed out stays valid when the dictionary is moved.
  dictionary(dictionary&&) = default;
  dictionary& operator=(dictionary&&) = default;
  dictionary(const dictionary&) = delete;
  dictionary& operator=(const dictionary&) = delete;

  // Loads a file and everything it $INCLUDEs (paths relative to the including file's
  // directory; "$INCLUDE-" is ignored if the file is missing). Include cycles are errors.
  // A name defined again with the same vendor and number is accepted and the first
  // definition kept (vendor files repeat standard attributes); with another number it is an
  // error. VALUEs may precede their ATTRIBUTE: they are resolved once everything is read.
  static expected<dictionary, dictionary_error> load(const std::filesystem::path& file);
  // Loads `dir/dictionary`.
  static expected<dictionary, dictionary_error> load_directory(const std::filesystem::path& dir);
  // Parses text; `name` is used in errors and $INCLUDE is resolved against base_dir.
  static expected<dictionary, dictionary_error> parse(std::string_view text, std::string name,
                                                      const std::filesystem::path& base_dir = {});

  // By name, case-insensitive; TLV children included.
  const attribute_def* find(std::string_view name) const noexcept;
  // Top-level attributes by number; with aliases, the first definition wins.
  const attribute_def* find(std::uint32_t vendor, std::uint32_t number) const noexcept;
  // A TLV's child by its number.
  const attribute_def* find_child(const attribute_def& parent, std::uint32_t number) const noexcept;
  const vendor_def* find_vendor(std::string_view name) const noexcept;  // case-insensitive
  const vendor_def* find_vendor(std::uint32_t id) const noexcept;

  std::size_t size() const noexcept { return attributes_.size(); }  // number of attributes
  // Every attribute, in definition order.
  const std::deque<attribute_def>& attributes() const noexcept { return attributes_; }
  const std::deque<vendor_def>& vendors() const noexcept { return vendors_; }

 private:
  friend class detail::loader;
  static std::uint64_t key(std::uint32_t vendor, std::uint32_t number) noexcept {
    return std::uint64_t{vendor} << 32 | number;
  }

  std::deque<attribute_def> attributes_;
  std::deque<vendor_def> vendors_;
  detail::ci_map<attribute_def*> by_name_;  // mutable for the loader, which adds VALUEs
  std::unordered_map<std::uint64_t, const attribute_def*> by_number_;
  std::map<std::pair<const attribute_def*, std::uint32_t>, const attribute_def*> children_;
  detail::ci_map<const vendor_def*> vendors_by_name_;
  std::unordered_map<std::uint32_t, const vendor_def*> vendors_by_id_;
};

}  // namespace npsd::radius
