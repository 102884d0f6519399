// The string-producing filters (`value | name(args)`), with Jinja2 3.1's semantics and
// Hugging Face's tojson (json.dumps with ensure_ascii off).
#include <algorithm>
#include <cstdio>
#include <string>

#include "jinja/error.hpp"
#include "jinja/filter_support.hpp"
#include "jinja/interpreter.hpp"
#include "jinja/strings.hpp"

namespace pensieve::jinja {
namespace {

Value f_tojson(Interpreter& in, const Value& v, CallArgs& args) {
  JsonOptions o;
  o.ensure_ascii = flag(args, 0, "ensure_ascii", false);
  if (const Value* indent = args.get(1, "indent"); indent && !indent->is_none()) {
    if (!indent->is_int()) fail(FailureKind::kType, "tojson indent must be an integer");
    o.indent = static_cast<int>(std::clamp<std::int64_t>(indent->as_int(), 0, 64));
    o.item_separator = ",";
  }
  if (const Value* seps = args.get(2, "separators"); seps && !seps->is_none()) {
    if (!seps->is_list() || seps->list().items.size() != 2 || !seps->list().items[0].is_string() ||
        !seps->list().items[1].is_string()) {
      fail(FailureKind::kType, "tojson separators must be a pair of strings");
    }
    o.item_separator = seps->list().items[0].text().str();
    o.key_separator = seps->list().items[1].text().str();
  }
  o.sort_keys = flag(args, 3, "sort_keys", false);
  Text out = to_json(v, o);
  in.account_string(out.size());
  return Value::string(std::move(out));
}

Value f_trim(Interpreter&, const Value& v, CallArgs& args) {
  const Value* chars = args.get(0, "chars");
  std::string set;
  if (chars && !chars->is_none()) set = to_text(*chars).str();
  return Value::string(strip(to_text(v), StripSide::kBoth, chars && !chars->is_none() ? &set : nullptr));
}

Value f_upper(Interpreter&, const Value& v, CallArgs&) {
  const Text t = to_text(v);
  return Value::string(t.derive(to_upper(t.str())));
}
Value f_lower(Interpreter&, const Value& v, CallArgs&) {
  const Text t = to_text(v);
  return Value::string(t.derive(to_lower(t.str())));
}
Value f_capitalize(Interpreter&, const Value& v, CallArgs&) {
  const Text t = to_text(v);
  return Value::string(t.derive(capitalize(t.str())));
}
Value f_title(Interpreter&, const Value& v, CallArgs&) {
  const Text t = to_text(v);
  return Value::string(t.derive(jinja_title(t.str())));
}

Value f_replace(Interpreter& in, const Value& v, CallArgs& args) {
  const Value* old_value = args.get(0, "old");
  const Value* new_value = args.get(1, "new");
  if (!old_value || !new_value) fail(FailureKind::kType, "replace needs the old and new strings");
  const Value* count = args.get(2, "count");
  Text out = replace(to_text(v), to_text(*old_value).str(), to_text(*new_value),
                     count && !count->is_none() ? count->as_int() : -1);
  in.account_string(out.size());
  return Value::string(std::move(out));
}

Value f_string(Interpreter&, const Value& v, CallArgs&) {
  return Value::string(to_text(v));
}
Value f_safe(Interpreter&, const Value& v, CallArgs&) {
  return v.is_string() ? v : Value::string(to_text(v));
}

Value f_indent(Interpreter& in, const Value& v, CallArgs& args) {
  const Value* width = args.get(0, "width");
  std::string indentation(4, ' ');
  if (width && width->is_string()) {
    indentation = width->text().str();
  } else if (width && width->is_int()) {
    indentation.assign(static_cast<std::size_t>(std::clamp<std::int64_t>(width->as_int(), 0, 1024)), ' ');
  }
  const bool first = flag(args, 1, "first", false);
  const bool blank = flag(args, 2, "blank", false);
  const Text source = to_text(v);
  std::vector<std::string> lines;
  {
    const std::string s = source.str() + "\n";
    std::size_t start = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '\n' || s[i] == '\r') {
        lines.push_back(s.substr(start, i - start));
        if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
        start = i + 1;
      }
    }
  }
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) {
      out += "\n";
      if (blank || !lines[i].empty()) out += indentation;
    }
    out += lines[i];
  }
  if (first) out = indentation + out;
  in.account_string(out.size());
  return Value::string(source.derive(std::move(out)));
}

Value f_escape(Interpreter&, const Value& v, CallArgs&) {
  const Text t = to_text(v);
  std::string out;
  for (char c : t.str()) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return Value::string(t.derive(std::move(out)));
}

Value f_wordcount(Interpreter&, const Value& v, CallArgs&) {
  return Value::integer(static_cast<std::int64_t>(split(to_text(v), nullptr, -1).size()));
}

// printf-style "%s" | format(args): %s %r %d %i %f %% with optional precision.
Value f_format(Interpreter& in, const Value& v, CallArgs& args) {
  const Text fmt = to_text(v);
  const std::string& f = fmt.str();
  Text out;
  std::size_t next = 0;
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%') {
      out.append(std::string_view(&f[i], 1), fmt.any_untrusted());
      continue;
    }
    std::size_t j = i + 1;
    int precision = -1;
    if (j < f.size() && f[j] == '.') {
      precision = 0;
      for (++j; j < f.size() && f[j] >= '0' && f[j] <= '9'; ++j) precision = precision * 10 + (f[j] - '0');
    }
    if (j >= f.size()) fail(FailureKind::kValue, "incomplete format");
    const char conv = f[j];
    if (conv == '%') {
      out.append_trusted("%");
      i = j;
      continue;
    }
    if (next >= args.positional.size()) fail(FailureKind::kType, "not enough arguments for format string");
    const Value& arg = args.positional[next++];
    if (conv == 's') {
      out.append(to_text(arg));
    } else if (conv == 'r') {
      out.append(repr_text(arg));
    } else if (conv == 'd' || conv == 'i') {
      if (!arg.is_number()) fail(FailureKind::kType, "%d format: a number is required");
      out.append_trusted(
          std::to_string(arg.is_float() ? static_cast<std::int64_t>(arg.as_double()) : arg.as_int()));
    } else if (conv == 'f') {
      if (!arg.is_number()) fail(FailureKind::kType, "%f format: a number is required");
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.*f", precision < 0 ? 6 : std::min(precision, 30), arg.as_double());
      out.append_trusted(buf);
    } else {
      fail(FailureKind::kValue, std::string("unsupported format character '") + conv + "'");
    }
    in.check_size(out.size());
    i = j;
  }
  return Value::string(std::move(out));
}

// str.center(width): Python puts the odd space on the left only when width is odd too.
Value f_center(Interpreter& in, const Value& v, CallArgs& args) {
  const Value* w = args.get(0, "width");
  const std::int64_t width = w && w->is_int() ? w->as_int() : 80;
  const Text t = to_text(v);
  const auto length = static_cast<std::int64_t>(utf8_length(t.str()));
  if (width <= length) return Value::string(t);
  in.account_string(static_cast<std::size_t>(width));
  const std::int64_t margin = width - length;
  const std::int64_t left = margin / 2 + (margin & width & 1);
  Text out(std::string(static_cast<std::size_t>(left), ' '));
  out.append(t);
  out.append_trusted(std::string(static_cast<std::size_t>(margin - left), ' '));
  return Value::string(std::move(out));
}

// Jinja2's truncate: cut at a word boundary (or anywhere with killwords), allowing 5 extra
// characters before cutting at all.
Value f_truncate(Interpreter&, const Value& v, CallArgs& args) {
  const Value* length_value = args.get(0, "length");
  const auto length = static_cast<std::size_t>(
      std::max<std::int64_t>(0, length_value && length_value->is_int() ? length_value->as_int() : 255));
  const bool killwords = flag(args, 1, "killwords", false);
  const Value* end_value = args.get(2, "end");
  const Text end = end_value ? to_text(*end_value) : Text("...");
  const Value* leeway_value = args.get(3, "leeway");
  const auto leeway = static_cast<std::size_t>(
      std::max<std::int64_t>(0, leeway_value && leeway_value->is_int() ? leeway_value->as_int() : 5));
  const Text t = to_text(v);
  const auto chars = utf8_chars(t.str());
  if (chars.size() <= length + leeway) return Value::string(t);
  const std::size_t keep = length > utf8_length(end.str()) ? length - utf8_length(end.str()) : 0;
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < keep; ++i) bytes += chars[i].size();
  Text out = t.substr(0, bytes);
  if (!killwords) {
    const std::size_t space = out.str().rfind(' ');
    if (space != std::string::npos) out = out.substr(0, space);
  }
  out.append(end);
  return Value::string(std::move(out));
}

}  // namespace

void add_text_filters(FilterTable& table) {
  table.emplace("tojson", f_tojson);
  table.emplace("trim", f_trim);
  table.emplace("upper", f_upper);
  table.emplace("lower", f_lower);
  table.emplace("capitalize", f_capitalize);
  table.emplace("title", f_title);
  table.emplace("replace", f_replace);
  table.emplace("string", f_string);
  table.emplace("safe", f_safe);
  table.emplace("indent", f_indent);
  table.emplace("escape", f_escape);
  table.emplace("e", f_escape);
  table.emplace("wordcount", f_wordcount);
  table.emplace("format", f_format);
  table.emplace("center", f_center);
  table.emplace("truncate", f_truncate);
}

}  // namespace pensieve::jinja
