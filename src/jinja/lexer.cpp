#include "jinja/lexer.hpp"

#include <algorithm>
#include <cctype>

#include "core/utf8.hpp"
#include "jinja/error.hpp"

namespace pensieve::jinja {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

void append_utf8(std::string& out, unsigned long cp) {
  core::append_utf8(out, static_cast<char32_t>(cp));
}

class Lexer {
 public:
  explicit Lexer(std::string_view src) : src_(src) {}

  std::vector<Token> run() {
    bool strip_next_text = false;    // the previous tag ended with '-'
    bool trim_next_newline = false;  // the previous block or comment tag ended without '-'
    while (pos_ < src_.size()) {
      const std::size_t tag = find_tag(pos_);
      std::string_view text = src_.substr(pos_, tag - pos_);
      const std::size_t text_start = pos_;
      if (strip_next_text) {
        while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
      } else if (trim_next_newline) {
        if (text.substr(0, 1) == "\n") text.remove_prefix(1);
      }
      strip_next_text = false;
      trim_next_newline = false;
      if (tag < src_.size()) {
        const char opener = src_[tag + 1];
        const char modifier = tag + 2 < src_.size() ? src_[tag + 2] : '\0';
        if (modifier == '-') {
          while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
        } else if (opener != '{' && modifier != '+') {
          lstrip_before_tag(text, text_start, tag);
        }
      }
      const std::size_t text_offset = static_cast<std::size_t>(text.data() - src_.data());
      emit_text(text, line_at(text_offset));
      if (tag >= src_.size()) break;

      const char opener = src_[tag + 1];
      pos_ = tag + 2;
      if (pos_ < src_.size() && (src_[pos_] == '-' || src_[pos_] == '+')) ++pos_;
      if (opener == '#') {
        const std::size_t end = src_.find("#}", pos_);
        if (end == std::string_view::npos) fail(FailureKind::kSyntax, "unterminated comment", line_at(tag));
        strip_next_text = end > pos_ && src_[end - 1] == '-';
        trim_next_newline = !strip_next_text;
        pos_ = end + 2;
        continue;
      }
      const bool is_block = opener == '%';
      tokens_.push_back({is_block ? TokenKind::kBlockBegin : TokenKind::kVarBegin, "", line_at(tag)});
      const std::size_t first_token = tokens_.size();
      const bool stripped = lex_tag(is_block);
      strip_next_text = stripped;
      trim_next_newline = is_block && !stripped;
      if (is_block && tokens_.size() == first_token + 2 && tokens_[first_token].kind == TokenKind::kName &&
          tokens_[first_token].value == "raw") {
        strip_next_text = lex_raw_body(strip_next_text, trim_next_newline);
        trim_next_newline = !strip_next_text;
      }
    }
    tokens_.push_back({TokenKind::kEnd, "", line_at(src_.size())});
    return std::move(tokens_);
  }

 private:
  int line_at(std::size_t offset) {
    while (line_pos_ < offset && line_pos_ < src_.size()) {
      if (src_[line_pos_] == '\n') ++line_;
      ++line_pos_;
    }
    return line_;
  }

  std::size_t find_tag(std::size_t from) const {
    for (std::size_t i = from; i + 1 < src_.size(); ++i) {
      if (src_[i] == '{' && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    }
    return src_.size();
  }

  // lstrip_blocks: spaces and tabs from the start of the line up to the tag go, but only when
  // the line starts inside this text (not after an earlier tag on the same line).
  void lstrip_before_tag(std::string_view& text, std::size_t text_start, std::size_t tag) const {
    // Walk back over spaces and tabs only, so long lines cost nothing extra.
    std::size_t line_start = tag;
    while (line_start > text_start && (src_[line_start - 1] == ' ' || src_[line_start - 1] == '\t'))
      --line_start;
    if (line_start > 0 && src_[line_start - 1] != '\n') return;
    text.remove_suffix(std::min(tag - line_start, text.size()));  // the start may be stripped already
  }

  void emit_text(std::string_view text, int line) {
    if (!text.empty()) tokens_.push_back({TokenKind::kText, std::string(text), line});
  }

  // Tokens inside {{ }} or {% %}; returns whether the closer carried '-'.
  bool lex_tag(bool is_block) {
    const int start_line = line_at(pos_);
    int depth = 0;  // open brackets, so that "}}" inside a dict literal is not the closer
    while (true) {
      while (pos_ < src_.size() && is_space(src_[pos_])) ++pos_;
      if (pos_ >= src_.size()) fail(FailureKind::kSyntax, "unterminated tag", start_line);
      const std::string_view rest = src_.substr(pos_);
      const std::string_view closer = is_block ? "%}" : "}}";
      if (depth == 0 || is_block) {
        if (rest.substr(0, 3) == std::string(1, '-') + std::string(closer)) {
          tokens_.push_back({is_block ? TokenKind::kBlockEnd : TokenKind::kVarEnd, "", line_at(pos_)});
          pos_ += 3;
          return true;
        }
        if (rest.substr(0, 2) == closer && depth == 0) {
          tokens_.push_back({is_block ? TokenKind::kBlockEnd : TokenKind::kVarEnd, "", line_at(pos_)});
          pos_ += 2;
          return false;
        }
      }
      const char c = src_[pos_];
      const int line = line_at(pos_);
      if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        std::size_t end = pos_;
        while (end < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[end])) || src_[end] == '_'))
          ++end;
        tokens_.push_back({TokenKind::kName, std::string(src_.substr(pos_, end - pos_)), line});
        pos_ = end;
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        lex_number(line);
      } else if (c == '\'' || c == '"') {
        lex_string(line);
      } else {
        static const char* const kOperators[] = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "*",
                                                 "/",  "%",  "~",  "|",  ".",  ",",  ":", "(", ")",
                                                 "[",  "]",  "{",  "}",  "<",  ">",  "="};
        bool matched = false;
        for (const char* op : kOperators) {
          const std::string_view o(op);
          if (rest.substr(0, o.size()) == o) {
            if (o == "(" || o == "[" || o == "{") ++depth;
            if ((o == ")" || o == "]" || o == "}") && depth > 0) --depth;
            tokens_.push_back({TokenKind::kOperator, std::string(o), line});
            pos_ += o.size();
            matched = true;
            break;
          }
        }
        if (!matched) fail(FailureKind::kSyntax, std::string("unexpected character '") + c + "'", line);
      }
    }
  }

  void lex_number(int line) {
    std::size_t end = pos_;
    auto digits = [&] {
      while (end < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[end])) || src_[end] == '_'))
        ++end;
    };
    digits();
    bool is_float = false;
    if (end + 1 < src_.size() && src_[end] == '.' &&
        std::isdigit(static_cast<unsigned char>(src_[end + 1]))) {
      is_float = true;
      ++end;
      digits();
    }
    if (end < src_.size() && (src_[end] == 'e' || src_[end] == 'E')) {
      std::size_t e = end + 1;
      if (e < src_.size() && (src_[e] == '+' || src_[e] == '-')) ++e;
      if (e < src_.size() && std::isdigit(static_cast<unsigned char>(src_[e]))) {
        is_float = true;
        end = e;
        digits();
      }
    }
    std::string text;
    for (char ch : src_.substr(pos_, end - pos_)) {
      if (ch != '_') text += ch;
    }
    tokens_.push_back({is_float ? TokenKind::kFloat : TokenKind::kInteger, text, line});
    pos_ = end;
  }

  // Python-style escapes; an unknown escape keeps its backslash, as Python does.
  void lex_string(int line) {
    const char quote = src_[pos_++];
    std::string out;
    while (true) {
      if (pos_ >= src_.size()) fail(FailureKind::kSyntax, "unterminated string", line);
      const char c = src_[pos_++];
      if (c == quote) break;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= src_.size()) fail(FailureKind::kSyntax, "unterminated string", line);
      const char e = src_[pos_++];
      auto hex = [&](int n) {
        if (pos_ + static_cast<std::size_t>(n) > src_.size())
          fail(FailureKind::kSyntax, "bad escape in string", line);
        unsigned long cp = 0;
        for (int i = 0; i < n; ++i) {
          const char h = src_[pos_++];
          if (!std::isxdigit(static_cast<unsigned char>(h)))
            fail(FailureKind::kSyntax, "bad escape in string", line);
          cp = cp * 16 + static_cast<unsigned long>(std::isdigit(static_cast<unsigned char>(h))
                                                        ? h - '0'
                                                        : (std::tolower(h) - 'a' + 10));
        }
        if (cp > 0x10FFFF) fail(FailureKind::kSyntax, "bad escape in string", line);
        append_utf8(out, cp);
      };
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case '\\':
          out += '\\';
          break;
        case '\'':
          out += '\'';
          break;
        case '"':
          out += '"';
          break;
        case '0':
          out += '\0';
          break;
        case 'a':
          out += '\a';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'v':
          out += '\v';
          break;
        case '\n':
          break;  // line continuation
        case 'x':
          hex(2);
          break;
        case 'u':
          hex(4);
          break;
        case 'U':
          hex(8);
          break;
        default:
          out += '\\';
          out += e;
      }
    }
    tokens_.push_back({TokenKind::kString, std::move(out), line});
  }

  // After {% raw %}: everything up to {% endraw %} is text. Returns whether endraw ended with '-'.
  bool lex_raw_body(bool strip_leading, bool trim_newline) {
    // Drop the "raw" tag tokens: the parser never sees them.
    tokens_.resize(tokens_.size() - 3);
    std::size_t search = pos_;
    while (true) {
      const std::size_t open = src_.find("{%", search);
      if (open == std::string_view::npos) fail(FailureKind::kSyntax, "missing endraw", line_at(pos_));
      std::size_t i = open + 2;
      const bool minus_before = i < src_.size() && src_[i] == '-';
      if (i < src_.size() && (src_[i] == '-' || src_[i] == '+')) ++i;
      while (i < src_.size() && is_space(src_[i])) ++i;
      if (src_.substr(i, 6) != "endraw") {
        search = open + 2;
        continue;
      }
      i += 6;
      while (i < src_.size() && is_space(src_[i])) ++i;
      bool minus_after = false;
      if (i < src_.size() && src_[i] == '-') {
        minus_after = true;
        ++i;
      }
      if (src_.substr(i, 2) != "%}") fail(FailureKind::kSyntax, "malformed endraw", line_at(open));
      std::string_view body = src_.substr(pos_, open - pos_);
      if (strip_leading) {
        while (!body.empty() && is_space(body.front())) body.remove_prefix(1);
      } else if (trim_newline && body.substr(0, 1) == "\n") {
        body.remove_prefix(1);
      }
      if (minus_before) {
        while (!body.empty() && is_space(body.back())) body.remove_suffix(1);
      }
      emit_text(body, line_at(pos_));
      pos_ = i + 2;
      return minus_after;
    }
  }

  std::string_view src_;
  std::size_t pos_ = 0;
  std::size_t line_pos_ = 0;
  int line_ = 1;
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> tokenize(std::string_view source) {
  // As Jinja2 does before lexing: every line ending becomes "\n", and one trailing newline
  // is dropped (keep_trailing_newline is off).
  std::string normalized;
  normalized.reserve(source.size());
  for (std::size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      normalized += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      normalized += source[i];
    }
  }
  if (!normalized.empty() && normalized.back() == '\n') normalized.pop_back();
  return Lexer(normalized).run();
}

}  // namespace pensieve::jinja
