#include "radius/dictionary.h"

#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <memory>
#include <system_error>
#include <vector>

namespace npsd::radius {
namespace fs = std::filesystem;

namespace {

constexpr std::array<std::pair<std::string_view, attr_type>, 18> type_names{{
    {"string", attr_type::string},
    {"octets", attr_type::octets},
    {"ipaddr", attr_type::ipaddr},
    {"ipv6addr", attr_type::ipv6addr},
    {"ipv6prefix", attr_type::ipv6prefix},
    {"ipv4prefix", attr_type::ipv4prefix},
    {"integer", attr_type::integer},
    {"date", attr_type::date},
    {"byte", attr_type::byte},
    {"short", attr_type::short_},
    {"integer64", attr_type::integer64},
    {"signed", attr_type::signed_},
    {"ether", attr_type::ether},
    {"ifid", attr_type::ifid},
    {"combo-ip", attr_type::combo_ip},
    {"tlv", attr_type::tlv},
    {"vsa", attr_type::vsa},
    {"abinary", attr_type::abinary},
}};

// Types of the format that npsd does not implement (RFC 6929 extended attributes).
constexpr std::array<std::string_view, 3> unsupported_types{"extended", "long-extended", "evs"};

constexpr std::size_t max_name_length = 128;
constexpr int max_include_depth = 32;

char ascii_lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

// The whitespace-separated words of a line, comment ("#" to the end) removed.
std::vector<std::string_view> split_words(std::string_view line) {
  line = line.substr(0, line.find('#'));
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_space(line[i])) ++i;
    const std::size_t start = i;
    while (i < line.size() && !is_space(line[i])) ++i;
    if (i > start) words.push_back(line.substr(start, i - start));
  }
  return words;
}

// Decimal, or hexadecimal with a 0x prefix; the whole text must be the number.
std::optional<std::uint32_t> parse_number(std::string_view s) noexcept {
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s.remove_prefix(2);
    base = 16;
  }
  if (s.empty() || s[0] == '+' || s[0] == '-') return std::nullopt;
  std::uint32_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// Numeric types; octets too, as some vendor files name the leading bytes of octets values.
bool takes_values(attr_type t) noexcept {
  return t == attr_type::integer || t == attr_type::byte || t == attr_type::short_ ||
         t == attr_type::signed_ || t == attr_type::integer64 || t == attr_type::octets;
}

struct file_closer {
  void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};

expected<std::string, std::error_code> read_file(const fs::path& path) {
  const std::unique_ptr<std::FILE, file_closer> f(std::fopen(path.c_str(), "rb"));
  if (!f) return unexpected(std::error_code(errno, std::generic_category()));
  std::string text;
  std::array<char, 16384> buf;
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), f.get())) > 0) text.append(buf.data(), n);
  if (std::ferror(f.get())) {
    return unexpected(std::error_code(errno ? errno : EIO, std::generic_category()));
  }
  return text;
}

fs::path identity_of(const fs::path& p) {
  std::error_code ec;
  fs::path c = fs::weakly_canonical(p, ec);
  return ec ? p.lexically_normal() : c;
}

}  // namespace

std::string_view attr_type_name(attr_type t) noexcept {
  for (const auto& [name, type] : type_names) {
    if (type == t) return name;
  }
  return "unknown";
}

std::optional<attr_type> attr_type_from_name(std::string_view name) noexcept {
  for (const auto& [n, type] : type_names) {
    if (iequals(n, name)) return type;
  }
  return std::nullopt;
}

namespace detail {

std::size_t ci_hash::operator()(std::string_view s) const noexcept {
  std::uint64_t h = 14695981039346656037ull;  // FNV-1a
  for (char c : s) {
    h ^= static_cast<unsigned char>(ascii_lower(c));
    h *= 1099511628211ull;
  }
  return static_cast<std::size_t>(h);
}

bool ci_equal::operator()(std::string_view a, std::string_view b) const noexcept {
  return iequals(a, b);
}

// Builds a dictionary from one top-level file (or text) and its includes.
class loader {
 public:
  expected<dictionary, dictionary_error> load(const fs::path& file) {
    auto text = read_file(file);
    if (!text) {
      return unexpected(
          dictionary_error{file.string(), 0, "cannot read dictionary: " + text.error().message()});
    }
    open_.push_back(identity_of(file));
    file_ctx ctx{file.string(), file.parent_path()};
    if (auto err = process(*text, ctx)) return unexpected(std::move(*err));
    return finish();
  }

  expected<dictionary, dictionary_error> parse(std::string_view text, std::string name,
                                               const fs::path& base_dir) {
    file_ctx ctx{std::move(name), base_dir};
    if (auto err = process(text, ctx)) return unexpected(std::move(*err));
    return finish();
  }

 private:
  using status = std::optional<dictionary_error>;  // nullopt: fine
  using words_t = std::vector<std::string_view>;

  struct file_ctx {
    std::string name;  // as shown in errors
    fs::path dir;      // includes are relative to it
    int line = 0;
    const vendor_def* vendor = nullptr;  // open BEGIN-VENDOR block
    int vendor_line = 0;
    std::vector<std::pair<const attribute_def*, int>> tlvs{};  // open BEGIN-TLV blocks
  };
  struct origin {
    std::string file;
    int line = 0;
  };
  struct pending_value {
    std::string attr;
    std::string name;
    std::uint32_t number = 0;
    origin at;
  };

  static dictionary_error error(const file_ctx& ctx, std::string message) {
    return {ctx.name, ctx.line, std::move(message)};
  }
  static std::string quoted(std::string_view s) {
    std::string q;
    q.reserve(s.size() + 2);
    q.append(1, '\'').append(s).append(1, '\'');
    return q;
  }

  status process(std::string_view text, file_ctx& ctx) {
    while (!text.empty()) {
      const std::size_t eol = text.find('\n');
      const std::string_view line = text.substr(0, eol);
      text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
      ++ctx.line;
      const words_t words = split_words(line);
      if (words.empty()) continue;
      if (auto err = statement(words, ctx)) return err;
    }
    ctx.line = 0;
    if (ctx.vendor) {
      return dictionary_error{ctx.name, ctx.vendor_line,
                              "BEGIN-VENDOR " + ctx.vendor->name +
                                  " is not closed by END-VENDOR before the end of the file"};
    }
    if (!ctx.tlvs.empty()) {
      return dictionary_error{ctx.name, ctx.tlvs.back().second,
                              "BEGIN-TLV " + ctx.tlvs.back().first->name +
                                  " is not closed by END-TLV before the end of the file"};
    }
    return std::nullopt;
  }

  status statement(const words_t& w, file_ctx& ctx) {
    const std::string_view kw = w[0];
    if (iequals(kw, "ATTRIBUTE")) return attribute(w, ctx);
    if (iequals(kw, "VALUE")) return value(w, ctx);
    if (iequals(kw, "VENDOR")) return vendor(w, ctx);
    if (iequals(kw, "BEGIN-VENDOR")) return begin_vendor(w, ctx);
    if (iequals(kw, "END-VENDOR")) return end_vendor(w, ctx);
    if (iequals(kw, "BEGIN-TLV")) return begin_tlv(w, ctx);
    if (iequals(kw, "END-TLV")) return end_tlv(w, ctx);
    if (iequals(kw, "$INCLUDE")) return include(w, ctx, false);
    if (iequals(kw, "$INCLUDE-")) return include(w, ctx, true);
    return error(ctx, "unknown keyword " + quoted(kw) +
                          " (expected ATTRIBUTE, VALUE, VENDOR, BEGIN-VENDOR, END-VENDOR, "
                          "BEGIN-TLV, END-TLV or $INCLUDE)");
  }

  static status check_name(std::string_view what, std::string_view name, const file_ctx& ctx) {
    if (name.size() > max_name_length) {
      return error(ctx, std::string(what) + " name " + quoted(name.substr(0, 32)) +
                            "... is longer than 128 characters");
    }
    for (char c : name) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x21 || u > 0x7e) {
        return error(ctx, std::string(what) + " name " + quoted(name) +
                              " has a character that is not printable ASCII");
      }
    }
    return std::nullopt;
  }

  // "59.1" for a TLV child, "17" otherwise.
  static std::string full_number(const attribute_def& d) {
    std::string n = std::to_string(d.number);
    for (const attribute_def* p = d.parent; p; p = p->parent) {
      n = std::to_string(p->number) + "." + n;
    }
    return n;
  }

  std::string describe(const attribute_def& d) const {
    std::string s = "number " + full_number(d);
    if (d.vendor != 0) {
      const vendor_def* v = dict_.find_vendor(d.vendor);
      s += " of vendor " + (v ? v->name : std::string("?")) + " (" + std::to_string(d.vendor) + ")";
    }
    s += ", type " + std::string(attr_type_name(d.type));
    if (const auto it = origins_.find(&d); it != origins_.end()) {
      s += ", at " + it->second.file + ":" + std::to_string(it->second.line);
    }
    return s;
  }

  // A name may be defined again for the same attribute (vendor files often repeat standard
  // ones); the first definition is kept, whatever type the later one gives.
  static bool same_attribute(const attribute_def& a, const attribute_def& b) noexcept {
    return a.vendor == b.vendor && a.number == b.number && a.parent == b.parent;
  }

  static bool is_flag_word(std::string_view f) noexcept {
    return iequals(f, "has_tag") || iequals(f, "concat") || iequals(f, "array") ||
           iequals(f, "virtual") || iequals(f, "secret") || f.find('=') != std::string_view::npos;
  }

  static status parse_flags(std::string_view flags, attribute_def& d, const file_ctx& ctx) {
    while (!flags.empty()) {
      const std::size_t comma = flags.find(',');
      const std::string_view f = flags.substr(0, comma);
      flags.remove_prefix(comma == std::string_view::npos ? flags.size() : comma + 1);
      if (iequals(f, "has_tag")) {
        d.has_tag = true;
      } else if (iequals(f, "concat")) {
        d.concat = true;
      } else if (iequals(f, "array")) {
        d.array = true;
      } else if (iequals(f, "virtual")) {
        d.is_virtual = true;
      } else if (iequals(f, "secret")) {
        d.secret = true;
      } else if (f.size() > 8 && iequals(f.substr(0, 8), "encrypt=")) {
        const auto n = parse_number(f.substr(8));
        if (!n || *n < 1 || *n > 3) {
          return error(
              ctx, "invalid flag " + quoted(f) + " (expected encrypt=1, encrypt=2 or encrypt=3)");
        }
        d.encrypt = static_cast<int>(*n);
      } else {
        return error(ctx, "unknown flag " + quoted(f) +
                              " (expected has_tag, encrypt=1..3, concat, array, virtual or secret, "
                              "comma-separated)");
      }
    }
    return std::nullopt;
  }

  static status check_flags(const attribute_def& d, const file_ctx& ctx) {
    const bool stringish = d.type == attr_type::string || d.type == attr_type::octets;
    if (d.has_tag && !stringish && d.type != attr_type::integer) {
      return error(ctx, "has_tag is only valid for string, octets and integer attributes, not " +
                            std::string(attr_type_name(d.type)));
    }
    // Salt encryption (RFC 2868 3.5) hides any value; the other two are defined on text only.
    const bool structural = d.type == attr_type::tlv || d.type == attr_type::vsa;
    if ((d.encrypt == 2 && structural) || (d.encrypt != 0 && d.encrypt != 2 && !stringish)) {
      return error(ctx, "encrypt=" + std::to_string(d.encrypt) + " is not valid for " +
                            std::string(attr_type_name(d.type)) + " attributes");
    }
    if (d.concat && d.type != attr_type::octets) {
      return error(ctx, "concat is only valid for octets attributes");
    }
    return std::nullopt;
  }

  status attribute(const words_t& w, file_ctx& ctx) {
    if (w.size() < 4 || w.size() > 5) {
      return error(ctx, "expected 'ATTRIBUTE <name> <number> <type> [flags]'");
    }
    if (auto err = check_name("attribute", w[1], ctx)) return err;
    attribute_def d;
    d.name = std::string(w[1]);

    // Type, with an optional fixed length: "octets[16]".
    std::string_view type_word = w[3];
    if (const std::size_t bracket = type_word.find('['); bracket != std::string_view::npos) {
      const std::uint32_t len =
          type_word.back() == ']'
              ? parse_number(type_word.substr(bracket + 1, type_word.size() - bracket - 2))
                    .value_or(0)
              : 0;
      type_word = type_word.substr(0, bracket);
      if (len < 1 || len > max_attribute_value) {
        return error(
            ctx, "invalid length in type " + quoted(w[3]) + " (expected e.g. octets[16], 1..253)");
      }
      d.fixed_length = static_cast<std::uint16_t>(len);
    }
    for (std::string_view u : unsupported_types) {
      if (iequals(type_word, u)) {
        return error(ctx, "unsupported type " + quoted(type_word) +
                              " (RFC 6929 extended attributes are not supported)");
      }
    }
    const auto type = attr_type_from_name(type_word);
    if (!type) {
      return error(ctx, "unknown type " + quoted(type_word) +
                            " (expected string, octets, ipaddr, ipv6addr, ipv6prefix, ipv4prefix, "
                            "integer, date, byte, short,"
                            " integer64, signed, ether, ifid, combo-ip, tlv, vsa or abinary)");
    }
    d.type = *type;
    if (d.fixed_length != 0 && d.type != attr_type::octets && d.type != attr_type::string) {
      return error(ctx, "a fixed length " + quoted(w[3]) +
                            " is only valid for octets and string attributes");
    }

    // Fifth field: flags, or (legacy form) the vendor's name.
    const vendor_def* vendor = ctx.vendor;
    std::string_view flags = w.size() == 5 ? w[4] : std::string_view{};
    if (!flags.empty() && flags.find(',') == std::string_view::npos && !is_flag_word(flags)) {
      if (const vendor_def* v = dict_.find_vendor(flags)) {
        vendor = v;
        flags = {};
      }
    }
    if (auto err = parse_flags(flags, d, ctx)) return err;
    if (auto err = check_flags(d, ctx)) return err;

    // Number: "17", "0x11", or "59.1" for a TLV child. Inside BEGIN-TLV it is relative to it.
    const std::string_view number_word = w[2];
    std::vector<std::uint32_t> path;
    for (std::string_view rest = number_word;;) {
      const std::size_t dot = rest.find('.');
      const auto n = parse_number(rest.substr(0, dot));
      if (!n) {
        return error(ctx, "invalid attribute number " + quoted(number_word) +
                              " (expected decimal, 0x hex, or TLV numbers like 59.1)");
      }
      path.push_back(*n);
      if (dot == std::string_view::npos) break;
      rest.remove_prefix(dot + 1);
    }
    const attribute_def* parent = ctx.tlvs.empty() ? nullptr : ctx.tlvs.back().first;
    const std::uint32_t vendor_id = parent ? parent->vendor : vendor ? vendor->id : 0;
    const std::uint32_t number = path.back();
    path.pop_back();
    for (std::uint32_t n : path) {
      const attribute_def* p = parent ? dict_.find_child(*parent, n) : dict_.find(vendor_id, n);
      if (!p) {
        return error(ctx, "attribute number " + quoted(number_word) + " refers to TLV " +
                              std::to_string(n) + ", which is not defined");
      }
      if (p->type != attr_type::tlv) {
        return error(ctx, "attribute number " + quoted(number_word) + ": " + p->name +
                              " is not of type tlv");
      }
      parent = p;
    }
    std::uint64_t max = 255;
    if (!parent && vendor) {
      max = vendor->type_size == 1 ? 0xff : vendor->type_size == 2 ? 0xffff : 0xffffffff;
    }
    const std::uint32_t min = !parent && vendor ? 0 : 1;
    if (number < min || number > max) {
      return error(ctx, "attribute number " + quoted(number_word) + " is out of range " +
                            std::to_string(min) + ".." + std::to_string(max) +
                            (parent   ? " for a TLV child"
                             : vendor ? " for vendor " + vendor->name
                                      : " for a standard attribute"));
    }
    d.vendor = vendor_id;
    d.number = number;
    d.parent = parent;

    if (const auto it = dict_.by_name_.find(d.name); it != dict_.by_name_.end()) {
      if (same_attribute(*it->second, d)) return std::nullopt;
      return error(ctx, "conflicting redefinition of " + quoted(d.name) +
                            " (already defined with " + describe(*it->second) + ")");
    }
    attribute_def* added = &dict_.attributes_.emplace_back(std::move(d));
    dict_.by_name_.emplace(added->name, added);
    if (added->parent) {
      dict_.children_.emplace(std::pair{added->parent, added->number}, added);
    } else {
      dict_.by_number_.emplace(dictionary::key(added->vendor, added->number), added);
    }
    origins_.emplace(added, origin{ctx.name, ctx.line});
    return std::nullopt;
  }

  // VALUEs are resolved once everything is loaded: files may name an attribute before defining it.
  status value(const words_t& w, file_ctx& ctx) {
    if (w.size() != 4) return error(ctx, "expected 'VALUE <attribute> <value-name> <number>'");
    if (auto err = check_name("attribute", w[1], ctx)) return err;
    if (auto err = check_name("value", w[2], ctx)) return err;
    const auto n = parse_number(w[3]);
    if (!n) {
      return error(ctx, "invalid VALUE number " + quoted(w[3]) +
                            " (expected decimal or 0x hex, 0..4294967295)");
    }
    pending_.push_back({std::string(w[1]), std::string(w[2]), *n, {ctx.name, ctx.line}});
    return std::nullopt;
  }

  status resolve_values() {
    for (const pending_value& v : pending_) {
      const auto fail = [&](std::string message) {
        return dictionary_error{v.at.file, v.at.line, std::move(message)};
      };
      const auto it = dict_.by_name_.find(v.attr);
      if (it == dict_.by_name_.end()) {
        return fail("VALUE " + quoted(v.name) + " is for attribute " + quoted(v.attr) +
                    ", which is never defined");
      }
      attribute_def& a = *it->second;
      if (!takes_values(a.type)) {
        return fail(
            "VALUE " + quoted(v.name) + ": attribute " + a.name + " has type " +
            std::string(attr_type_name(a.type)) +
            "; only integer, byte, short, signed, integer64 and octets attributes take VALUEs");
      }
      const std::uint32_t max = a.type == attr_type::byte     ? 0xff
                                : a.type == attr_type::short_ ? 0xffff
                                                              : 0xffffffff;
      if (v.number > max) {
        return fail("VALUE " + quoted(v.name) + " = " + std::to_string(v.number) +
                    " does not fit attribute " + a.name + " of type " +
                    std::string(attr_type_name(a.type)) + " (0.." + std::to_string(max) + ")");
      }
      const auto [named, added] = a.values_by_name_.emplace(v.name, v.number);
      if (!added && named->second != v.number) {
        return fail("conflicting VALUE " + quoted(v.name) + " for " + a.name + ": " +
                    std::to_string(v.number) + " here, " + std::to_string(named->second) +
                    " before");
      }
      a.names_by_value_.emplace(v.number, v.name);
    }
    return std::nullopt;
  }

  status vendor(const words_t& w, file_ctx& ctx) {
    if (w.size() < 3 || w.size() > 4) {
      return error(ctx, "expected 'VENDOR <name> <id> [format=t,l]'");
    }
    if (auto err = check_name("vendor", w[1], ctx)) return err;
    const auto id = parse_number(w[2]);
    if (!id || *id == 0 || *id > 0xffffff) {
      return error(ctx, "invalid vendor id " + quoted(w[2]) + " (expected 1..16777215)");
    }
    vendor_def v{std::string(w[1]), *id};
    if (w.size() == 4) {
      std::string_view f = w[3];
      const auto bad = [&] {
        return error(ctx,
                     "invalid vendor format " + quoted(w[3]) +
                         " (expected format=t,l with t 1, 2 or 4 and l 0, 1 or 2, optionally ,c)");
      };
      if (f.size() < 10 || !iequals(f.substr(0, 7), "format=") || f[8] != ',') return bad();
      const char t = f[7];
      const char l = f[9];
      if ((t != '1' && t != '2' && t != '4') || (l < '0' || l > '2')) return bad();
      f.remove_prefix(10);
      if (!f.empty()) {
        if (f != ",c" || t != '1' || l != '1') return bad();
        v.continuation = true;
      }
      v.type_size = static_cast<std::uint8_t>(t - '0');
      v.length_size = static_cast<std::uint8_t>(l - '0');
    }
    if (const vendor_def* old = dict_.find_vendor(v.name)) {
      if (old->id == v.id && old->type_size == v.type_size && old->length_size == v.length_size &&
          old->continuation == v.continuation) {
        return std::nullopt;
      }
      return error(ctx, "conflicting redefinition of vendor " + v.name +
                            " (already defined with id " + std::to_string(old->id) +
                            " format=" + std::to_string(old->type_size) + "," +
                            std::to_string(old->length_size) + ")");
    }
    const vendor_def* added = &dict_.vendors_.emplace_back(std::move(v));
    dict_.vendors_by_name_.emplace(added->name, added);
    dict_.vendors_by_id_.emplace(added->id, added);
    return std::nullopt;
  }

  status begin_vendor(const words_t& w, file_ctx& ctx) {
    if (w.size() == 3) {
      return error(ctx, "BEGIN-VENDOR option " + quoted(w[2]) +
                            " is not supported (extended vendor attributes are not supported)");
    }
    if (w.size() != 2) return error(ctx, "expected 'BEGIN-VENDOR <vendor>'");
    const vendor_def* v = dict_.find_vendor(w[1]);
    if (!v) {
      return error(
          ctx, "BEGIN-VENDOR of unknown vendor " + quoted(w[1]) + " (define it first with VENDOR)");
    }
    if (ctx.vendor) {
      return error(ctx, "BEGIN-VENDOR " + v->name + " inside the block of " + ctx.vendor->name +
                            " opened at line " + std::to_string(ctx.vendor_line) +
                            " (close that with END-VENDOR first)");
    }
    ctx.vendor = v;
    ctx.vendor_line = ctx.line;
    return std::nullopt;
  }

  status end_vendor(const words_t& w, file_ctx& ctx) {
    if (w.size() != 2) return error(ctx, "expected 'END-VENDOR <vendor>'");
    if (!ctx.vendor) {
      return error(ctx, "END-VENDOR " + std::string(w[1]) + " without a matching BEGIN-VENDOR");
    }
    if (dict_.find_vendor(w[1]) != ctx.vendor) {
      return error(ctx, "END-VENDOR " + std::string(w[1]) + " does not match BEGIN-VENDOR " +
                            ctx.vendor->name + " at line " + std::to_string(ctx.vendor_line));
    }
    if (!ctx.tlvs.empty()) {
      return error(ctx, "END-VENDOR " + std::string(w[1]) + " while BEGIN-TLV " +
                            ctx.tlvs.back().first->name + " at line " +
                            std::to_string(ctx.tlvs.back().second) + " is still open");
    }
    ctx.vendor = nullptr;
    return std::nullopt;
  }

  status begin_tlv(const words_t& w, file_ctx& ctx) {
    if (w.size() != 2) return error(ctx, "expected 'BEGIN-TLV <attribute>'");
    const attribute_def* a = dict_.find(w[1]);
    if (!a) {
      return error(ctx, "BEGIN-TLV of unknown attribute " + quoted(w[1]) +
                            " (define it first with type tlv)");
    }
    if (a->type != attr_type::tlv) {
      return error(ctx, "BEGIN-TLV " + a->name + ": the attribute is of type " +
                            std::string(attr_type_name(a->type)) + ", not tlv");
    }
    ctx.tlvs.emplace_back(a, ctx.line);
    return std::nullopt;
  }

  status end_tlv(const words_t& w, file_ctx& ctx) {
    if (w.size() != 2) return error(ctx, "expected 'END-TLV <attribute>'");
    if (ctx.tlvs.empty()) {
      return error(ctx, "END-TLV " + std::string(w[1]) + " without a matching BEGIN-TLV");
    }
    if (dict_.find(w[1]) != ctx.tlvs.back().first) {
      return error(ctx, "END-TLV " + std::string(w[1]) + " does not match BEGIN-TLV " +
                            ctx.tlvs.back().first->name + " at line " +
                            std::to_string(ctx.tlvs.back().second));
    }
    ctx.tlvs.pop_back();
    return std::nullopt;
  }

  status include(const words_t& w, file_ctx& ctx, bool optional) {
    if (w.size() != 2) return error(ctx, "expected '" + std::string(w[0]) + " <file>'");
    fs::path path(w[1]);
    if (path.is_relative()) path = ctx.dir / path;
    const fs::path id = identity_of(path);
    for (std::size_t i = 0; i < open_.size(); ++i) {
      if (open_[i] != id) continue;
      std::string chain;
      for (std::size_t j = i; j < open_.size(); ++j) chain += open_[j].string() + " -> ";
      return error(ctx, "include cycle: " + chain + id.string());
    }
    if (open_.size() >= max_include_depth) {
      return error(ctx,
                   "includes are nested more than " + std::to_string(max_include_depth) + " deep");
    }
    auto text = read_file(path);
    if (!text) {
      if (optional && text.error() == std::errc::no_such_file_or_directory) return std::nullopt;
      return error(ctx, "cannot read included file " + quoted(path.string()) + ": " +
                            text.error().message());
    }
    open_.push_back(id);
    file_ctx child{path.string(), path.parent_path()};
    status result = process(*text, child);
    open_.pop_back();
    return result;
  }

  expected<dictionary, dictionary_error> finish() {
    if (auto err = resolve_values()) return unexpected(std::move(*err));
    return std::move(dict_);
  }

  dictionary dict_;
  std::vector<fs::path> open_;  // files being read, outermost first: cycle detection
  std::vector<pending_value> pending_;
  std::unordered_map<const attribute_def*, origin> origins_;
};

}  // namespace detail

std::string dictionary_error::to_string() const {
  return line > 0 ? file + ":" + std::to_string(line) + ": " + message : file + ": " + message;
}

std::optional<std::uint32_t> attribute_def::value_of(std::string_view value_name) const noexcept {
  const auto it = values_by_name_.find(value_name);
  if (it == values_by_name_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string_view> attribute_def::name_of(std::uint32_t value) const noexcept {
  const auto it = names_by_value_.find(value);
  if (it == names_by_value_.end()) return std::nullopt;
  return std::string_view(it->second);
}

expected<dictionary, dictionary_error> dictionary::load(const fs::path& file) {
  return detail::loader().load(file);
}

expected<dictionary, dictionary_error> dictionary::load_directory(const fs::path& dir) {
  return load(dir / "dictionary");
}

expected<dictionary, dictionary_error> dictionary::parse(std::string_view text, std::string name,
                                                         const fs::path& base_dir) {
  return detail::loader().parse(text, std::move(name), base_dir);
}

const attribute_def* dictionary::find(std::string_view name) const noexcept {
  const auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

const attribute_def* dictionary::find(std::uint32_t vendor, std::uint32_t number) const noexcept {
  const auto it = by_number_.find(key(vendor, number));
  return it == by_number_.end() ? nullptr : it->second;
}

const attribute_def* dictionary::find_child(const attribute_def& parent,
                                            std::uint32_t number) const noexcept {
  const auto it = children_.find({&parent, number});
  return it == children_.end() ? nullptr : it->second;
}

const vendor_def* dictionary::find_vendor(std::string_view name) const noexcept {
  const auto it = vendors_by_name_.find(name);
  return it == vendors_by_name_.end() ? nullptr : it->second;
}

const vendor_def* dictionary::find_vendor(std::uint32_t id) const noexcept {
  const auto it = vendors_by_id_.find(id);
  return it == vendors_by_id_.end() ? nullptr : it->second;
}

}  // namespace npsd::radius
