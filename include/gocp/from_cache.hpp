#pragma once
/// \file
/// The cached manager's reads (seed 003): `Repository::from_cache` (one object) and
/// `Repository::from_cache_list` (every match) under a key named by a template filled
/// with the lookup's values, through the query cache (cache/query_cache.hpp), so they are
/// invalidated as every other cached read is:
///
///     auto article = articles.from_cache("article:{slug}", c(&Article::slug) == slug,
///                                        {.none_on_error = true, .filters = c(&Article::published) == true});
///     auto by_url = articles.from_cache("article:{id}", {{"id", request_id}}, {.none_on_error = true});
///
/// Here: the options, the text lookup (values as a URL gives them), and the template's
/// parsing and filling.

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "detail/utf8.hpp"
#include "errors.hpp"
#include "model.hpp"
#include "query.hpp"

namespace gocp {

/// A lookup given as text, field by field (`{{"id", "42"}, {"lang", "en"}}`: field names
/// as the schema lists them): each value is converted to its field's type. A value that
/// cannot be one (`"4x2"` for an integer, out of its range, longer than its max_length)
/// is a ValidationError, or with `none_on_error` an empty answer. Integer, real and text
/// fields only (a timestamp, date or blob field is a ConfigurationError).
using TextLookup = std::vector<std::pair<std::string, std::string>>;

/// The options of Repository::from_cache / from_cache_list.
template <class Model>
struct FromCache {
  /// A missing row (from_cache), or a text value that cannot be its field's type, is an
  /// empty answer instead of DoesNotExist / ValidationError. Several matching rows still
  /// raise MultipleObjectsReturned.
  bool none_on_error = false;
  /// Constant conditions that narrow the query without being named by the template
  /// (`published == true`). They are still part of the entry's exact key, so two calls
  /// that differ only by them never share an entry.
  Expr<Model> filters{};
};

namespace detail {

/// One piece of a key template: literal text, or the column whose value fills `{name}`.
struct KeyTemplatePiece {
  std::string_view literal;
  std::size_t column = npos;  ///< npos: literal
};

inline std::string key_template_error(const ModelInfo& info, std::string_view key_template, const std::string& what) {
  return "gocp: from_cache on '" + std::string(info.name) + "': key template \"" + std::string(key_template) +
         "\" " + what;
}

/// `"article:{slug}"` as pieces; a `{name}` that is not a field of the model, or an
/// unclosed or empty brace, is a ConfigurationError naming the template.
inline std::vector<KeyTemplatePiece> parse_key_template(std::string_view key_template, const ModelInfo& info) {
  std::vector<KeyTemplatePiece> out;
  std::size_t at = 0;
  while (at < key_template.size()) {
    const std::size_t open = key_template.find('{', at);
    if (open == std::string_view::npos) {
      out.push_back({key_template.substr(at)});
      break;
    }
    if (open > at) out.push_back({key_template.substr(at, open - at)});
    const std::size_t close = key_template.find('}', open);
    if (close == std::string_view::npos || close == open + 1)
      throw ConfigurationError(key_template_error(info, key_template, "has an unclosed or empty '{'"));
    const std::string_view name = key_template.substr(open + 1, close - open - 1);
    std::size_t column = npos;
    for (std::size_t c = 0; c < info.columns.size(); ++c)
      if (info.columns[c].name == name) column = c;
    if (column == npos)
      throw ConfigurationError(key_template_error(info, key_template, "names '" + std::string(name) +
                                                                          "', which is not a field of the model"));
    out.push_back({name, column});
    at = close + 1;
  }
  return out;
}

/// The value a top-level `column == value` term of `nodes` fixes (the first such term), or null.
inline const Value* fixed_value(std::span<const Node> nodes, std::size_t column) {
  for (std::size_t i = 0; i < nodes.size();) {
    const Node& n = nodes[i];
    if (n.op == Op::and_) {
      ++i;
      continue;
    }
    if (n.op == Op::eq && n.column == column) return &n.value;
    i = subtree_end(nodes, i);
  }
  return nullptr;
}

/// A value as the filled key shows it.
inline void append_key_text(std::string& out, const Value& v) {
  if (const auto* i = std::get_if<std::int64_t>(&v)) out += std::to_string(*i);
  else if (const auto* s = std::get_if<std::string>(&v)) out += *s;
  else if (const auto* d = std::get_if<double>(&v)) {
    char text[32];
    out.append(text, static_cast<std::size_t>(std::to_chars(text, text + sizeof text, *d).ptr - text));
  } else if (const auto* t = std::get_if<TimestampValue>(&v)) out += std::to_string(t->micros);
  else if (const auto* day = std::get_if<DateValue>(&v)) out += std::to_string(day->days);
  else if (const auto* b = std::get_if<BlobValue>(&v)) {
    static constexpr char hex[] = "0123456789abcdef";
    for (const auto byte : b->bytes) {
      out += hex[static_cast<unsigned char>(byte) >> 4];
      out += hex[static_cast<unsigned char>(byte) & 15];
    }
  } else out += "None";
}

/// The template filled with the values `lookup` fixes; a `{name}` the lookup does not
/// fix with `==` is a ConfigurationError naming the field and the template.
inline std::string fill_key_template(std::string_view key_template, const ModelInfo& info,
                                     std::span<const Node> lookup) {
  std::string out;
  for (const KeyTemplatePiece& piece : parse_key_template(key_template, info)) {
    if (piece.column == npos) {
      out += piece.literal;
      continue;
    }
    const Value* v = fixed_value(lookup, piece.column);
    if (!v)
      throw ConfigurationError(key_template_error(
          info, key_template,
          "names the field '" + std::string(piece.literal) + "', which the lookup does not fix with ==: every "
          "field the template names must be an ==-term of the lookup (joined by &&)"));
    append_key_text(out, *v);
  }
  return out;
}

/// `text` as a value of `col`, or nullopt when it cannot be one.
inline std::optional<Value> value_from_text(const ModelInfo& info, const ColumnInfo& col, std::string_view text) {
  switch (col.type) {
    case ColumnType::integer: {
      std::int64_t n = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
      if (ec != std::errc{} || end != text.data() + text.size() || n < col.min_value || n > col.max_value)
        return std::nullopt;
      return Value{n};
    }
    case ColumnType::real: {
      double d = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
      if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
      return Value{d};
    }
    case ColumnType::text:
      if (!strict_utf8(text) || (col.max_length && utf8_length(text) > col.max_length)) return std::nullopt;
      return Value{std::string(text)};
    default:
      throw ConfigurationError("gocp: from_cache on '" + std::string(info.name) + "': the field '" +
                               std::string(col.name) +
                               "' cannot be looked up by text (integer, real and text fields can); give a "
                               "gocp::c(...) == value lookup instead");
  }
}

/// A TextLookup as the model's expression (its terms joined by &&), or nullopt when a
/// value cannot be its field's type and `none_on_error` says so (else ValidationError).
template <class Model>
std::optional<Expr<Model>> text_lookup_expr(const TextLookup& lookup, bool none_on_error) {
  const ModelInfo& info = model_info<Model>();
  Expr<Model> out;
  for (const auto& [name, text] : lookup) {
    std::size_t column = npos;
    for (std::size_t c = 0; c < info.columns.size(); ++c)
      if (info.columns[c].name == name) column = c;
    if (column == npos)
      throw ConfigurationError("gocp: from_cache on '" + std::string(info.name) + "': the lookup names '" + name +
                               "', which is not a field of the model");
    std::optional<Value> v = value_from_text(info, info.columns[column], text);
    if (!v) {
      if (none_on_error) return std::nullopt;
      throw ValidationError("gocp: from_cache on '" + std::string(info.name) + "': \"" + text +
                            "\" cannot be a value of the field '" + name + "'");
    }
    out = std::move(out) && Expr<Model>(Node{Op::eq, static_cast<std::uint32_t>(column), std::move(*v)});
  }
  return out;
}

}  // namespace detail
}  // namespace gocp
