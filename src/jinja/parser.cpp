#include "jinja/parser.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <initializer_list>

#include "jinja/error.hpp"
#include "jinja/lexer.hpp"
#include "jinja/name_check.hpp"

namespace pensieve::jinja {
namespace {

// Nesting beyond this is refused so that hostile templates cannot exhaust the native stack.
constexpr int kMaxParseDepth = 200;

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  Body parse_all() {
    std::string ended_by;
    Body body = parse_body({}, ended_by);
    if (peek().kind != TokenKind::kEnd) syntax("unexpected tag");
    return body;
  }

 private:
  // --- token helpers -------------------------------------------------------------------------
  const Token& peek(std::size_t ahead = 0) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  const Token& next() {
    const Token& t = tokens_[pos_];
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return t;
  }
  bool is_op(std::string_view op, std::size_t ahead = 0) const {
    return peek(ahead).kind == TokenKind::kOperator && peek(ahead).value == op;
  }
  bool is_name(std::string_view name, std::size_t ahead = 0) const {
    return peek(ahead).kind == TokenKind::kName && peek(ahead).value == name;
  }
  bool accept_op(std::string_view op) {
    if (!is_op(op)) return false;
    next();
    return true;
  }
  bool accept_name(std::string_view name) {
    if (!is_name(name)) return false;
    next();
    return true;
  }
  [[noreturn]] void syntax(const std::string& message) const {
    std::string found;
    switch (peek().kind) {
      case TokenKind::kEnd:
        found = "end of template";
        break;
      case TokenKind::kBlockEnd:
        found = "'%}'";
        break;
      case TokenKind::kVarEnd:
        found = "'}}'";
        break;
      case TokenKind::kText:
        found = "text";
        break;
      default:
        found = "'" + peek().value + "'";
    }
    fail(FailureKind::kSyntax, message + " (found " + found + ")", peek().line);
  }
  void expect_op(std::string_view op) {
    if (!accept_op(op)) syntax("expected '" + std::string(op) + "'");
  }
  std::string expect_name() {
    if (peek().kind != TokenKind::kName) syntax("expected a name");
    return next().value;
  }
  void expect_block_end() {
    if (peek().kind != TokenKind::kBlockEnd) syntax("expected '%}'");
    next();
  }

  struct DepthGuard {
    explicit DepthGuard(Parser& p) : parser(p) {
      if (++parser.depth_ > kMaxParseDepth) parser.syntax("template nested too deeply");
    }
    ~DepthGuard() { --parser.depth_; }
    Parser& parser;
  };

  // --- statements ----------------------------------------------------------------------------
  // Parses until a block tag whose keyword is in `ends`; consumes that keyword.
  Body parse_body(std::initializer_list<std::string_view> ends, std::string& ended_by) {
    DepthGuard guard(*this);
    Body body;
    while (true) {
      const Token& t = peek();
      if (t.kind == TokenKind::kEnd) {
        // The closing keyword is listed last ({"elif", "else", "endif"}).
        if (ends.size() != 0) syntax("missing '{% " + std::string(*(ends.end() - 1)) + " %}'");
        return body;
      }
      if (t.kind == TokenKind::kText) {
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::kText;
        s->line = t.line;
        s->text = next().value;
        body.push_back(std::move(s));
        continue;
      }
      if (t.kind == TokenKind::kVarBegin) {
        next();
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::kOutput;
        s->line = t.line;
        s->expr = parse_tuple_expression();
        if (peek().kind != TokenKind::kVarEnd) syntax("expected '}}'");
        next();
        body.push_back(std::move(s));
        continue;
      }
      if (t.kind != TokenKind::kBlockBegin) syntax("unexpected token");
      const Token& keyword = peek(1);
      if (keyword.kind != TokenKind::kName) {
        next();
        syntax("expected a statement keyword");
      }
      if (std::find(ends.begin(), ends.end(), keyword.value) != ends.end()) {
        next();
        ended_by = next().value;
        return body;
      }
      next();
      body.push_back(parse_statement());
    }
  }

  StmtPtr parse_statement() {
    const Token& kw = next();
    const std::string keyword = kw.value;
    auto s = std::make_unique<Stmt>();
    s->line = kw.line;
    std::string ended_by;
    if (keyword == "if") {
      s->kind = StmtKind::kIf;
      ExprPtr condition = parse_expression();
      expect_block_end();
      while (true) {
        Body body = parse_body({"elif", "else", "endif"}, ended_by);
        s->branches.emplace_back(std::move(condition), std::move(body));
        if (ended_by == "elif") {
          condition = parse_expression();
          expect_block_end();
          continue;
        }
        if (ended_by == "else") {
          expect_block_end();
          s->else_body = parse_body({"endif"}, ended_by);
        }
        expect_block_end();
        break;
      }
    } else if (keyword == "for") {
      s->kind = StmtKind::kFor;
      do {
        s->targets.emplace_back(expect_name(), "");
      } while (accept_op(","));
      if (!accept_name("in")) syntax("expected 'in'");
      s->expr = parse_tuple_expression(/*allow_conditional=*/false);
      if (accept_name("if")) s->condition = parse_expression();
      if (accept_name("recursive")) syntax("recursive loops are not supported");
      expect_block_end();
      s->body = parse_body({"else", "endfor"}, ended_by);
      if (ended_by == "else") {
        expect_block_end();
        s->else_body = parse_body({"endfor"}, ended_by);
      }
      expect_block_end();
    } else if (keyword == "set") {
      do {
        std::string name = expect_name();
        std::string attribute;
        if (accept_op(".")) attribute = expect_name();
        s->targets.emplace_back(std::move(name), std::move(attribute));
      } while (accept_op(","));
      if (accept_op("=")) {
        s->kind = StmtKind::kSet;
        s->expr = parse_tuple_expression();
        expect_block_end();
      } else {
        if (s->targets.size() != 1 || !s->targets[0].second.empty()) syntax("expected '='");
        s->kind = StmtKind::kSetBlock;
        if (is_op("|")) s->expr = parse_filter_chain(placeholder());
        expect_block_end();
        s->body = parse_body({"endset"}, ended_by);
        expect_block_end();
      }
    } else if (keyword == "macro") {
      s->kind = StmtKind::kMacro;
      s->text = expect_name();
      parse_params(s->params);
      expect_block_end();
      s->body = parse_body({"endmacro"}, ended_by);
      if (peek().kind == TokenKind::kName) next();  // {% endmacro name %}
      expect_block_end();
    } else if (keyword == "call") {
      s->kind = StmtKind::kCallBlock;
      if (is_op("(")) parse_params(s->params);
      s->expr = parse_expression();
      if (s->expr->kind != ExprKind::kCall) syntax("expected a macro call");
      expect_block_end();
      s->body = parse_body({"endcall"}, ended_by);
      expect_block_end();
    } else if (keyword == "filter") {
      s->kind = StmtKind::kFilterBlock;
      s->expr = parse_filter_chain(placeholder(), /*leading_pipe=*/false);
      expect_block_end();
      s->body = parse_body({"endfilter"}, ended_by);
      expect_block_end();
    } else if (keyword == "with") {
      s->kind = StmtKind::kWith;
      while (peek().kind != TokenKind::kBlockEnd) {
        std::string name = expect_name();
        expect_op("=");
        s->assignments.emplace_back(std::move(name), parse_expression());
        if (!accept_op(",")) break;
      }
      expect_block_end();
      s->body = parse_body({"endwith"}, ended_by);
      expect_block_end();
    } else if (keyword == "break" || keyword == "continue") {
      s->kind = keyword == "break" ? StmtKind::kBreak : StmtKind::kContinue;
      expect_block_end();
    } else if (keyword == "generation") {
      // Hugging Face's assistant-mask extension: renders its body unchanged.
      s->kind = StmtKind::kScope;
      expect_block_end();
      s->body = parse_body({"endgeneration"}, ended_by);
      expect_block_end();
    } else {
      fail(FailureKind::kSyntax, "unknown statement '" + keyword + "'", kw.line);
    }
    return s;
  }

  void parse_params(std::vector<Param>& params) {
    expect_op("(");
    while (!is_op(")")) {
      Param p;
      p.name = expect_name();
      if (accept_op("=")) p.default_value = parse_expression();
      params.push_back(std::move(p));
      if (!accept_op(",")) break;
    }
    expect_op(")");
  }

  ExprPtr placeholder() {
    auto e = make(ExprKind::kName);
    e->name = "\x01filter-input";
    return e;
  }

  // --- expressions ---------------------------------------------------------------------------
  ExprPtr make(ExprKind kind) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = peek().line;
    return e;
  }

  ExprPtr binary(std::string op, ExprPtr left, ExprPtr right) {
    auto e = make(ExprKind::kBinary);
    e->line = left->line;
    e->name = std::move(op);
    e->operands.push_back(std::move(left));
    e->operands.push_back(std::move(right));
    return e;
  }

  ExprPtr parse_tuple_expression(bool allow_conditional = true) {
    ExprPtr first = parse_expression(allow_conditional);
    if (!is_op(",")) return first;
    auto tuple = make(ExprKind::kTuple);
    tuple->operands.push_back(std::move(first));
    while (accept_op(",")) {
      if (peek().kind == TokenKind::kBlockEnd || peek().kind == TokenKind::kVarEnd || is_name("if")) break;
      tuple->operands.push_back(parse_expression(allow_conditional));
    }
    return tuple;
  }

  ExprPtr parse_expression(bool allow_conditional = true) {
    DepthGuard guard(*this);
    ExprPtr expr = parse_or();
    while (allow_conditional && is_name("if")) {
      next();
      auto cond = make(ExprKind::kConditional);
      cond->line = expr->line;
      ExprPtr condition = parse_or();
      ExprPtr otherwise;
      if (accept_name("else")) otherwise = parse_expression();
      cond->operands.push_back(std::move(expr));
      cond->operands.push_back(std::move(condition));
      cond->operands.push_back(std::move(otherwise));
      expr = std::move(cond);
    }
    return expr;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (accept_name("or")) left = binary("or", std::move(left), parse_and());
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (accept_name("and")) left = binary("and", std::move(left), parse_not());
    return left;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      auto e = make(ExprKind::kUnary);
      next();
      DepthGuard guard(*this);
      e->name = "not";
      e->operands.push_back(parse_not());
      return e;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    ExprPtr left = parse_math1();
    while (true) {
      std::string op;
      if (peek().kind == TokenKind::kOperator &&
          (peek().value == "==" || peek().value == "!=" || peek().value == "<" || peek().value == ">" ||
           peek().value == "<=" || peek().value == ">=")) {
        op = next().value;
      } else if (is_name("in")) {
        next();
        op = "in";
      } else if (is_name("not") && is_name("in", 1)) {
        next();
        next();
        op = "not in";
      } else {
        return left;
      }
      left = binary(op, std::move(left), parse_math1());
    }
  }

  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (is_op("+") || is_op("-")) {
      std::string op = next().value;
      left = binary(op, std::move(left), parse_concat());
    }
    return left;
  }

  ExprPtr parse_concat() {
    ExprPtr left = parse_math2();
    while (accept_op("~")) left = binary("~", std::move(left), parse_math2());
    return left;
  }

  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      std::string op = next().value;
      left = binary(op, std::move(left), parse_pow());
    }
    return left;
  }

  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(true);
    while (accept_op("**")) left = binary("**", std::move(left), parse_unary(true));
    return left;
  }

  ExprPtr parse_unary(bool with_filter) {
    DepthGuard guard(*this);
    ExprPtr node;
    if (is_op("-") || is_op("+")) {
      node = make(ExprKind::kUnary);
      node->name = next().value;
      node->operands.push_back(parse_unary(false));
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filter_expr(std::move(node));
    return node;
  }

  ExprPtr parse_primary() {
    const Token& t = peek();
    switch (t.kind) {
      case TokenKind::kName: {
        next();
        auto e = make(ExprKind::kLiteral);
        e->line = t.line;
        if (t.value == "true" || t.value == "True") {
          e->literal = Value::boolean(true);
        } else if (t.value == "false" || t.value == "False") {
          e->literal = Value::boolean(false);
        } else if (t.value == "none" || t.value == "None") {
          e->literal = Value::none();
        } else {
          e->kind = ExprKind::kName;
          e->name = t.value;
        }
        return e;
      }
      case TokenKind::kString: {
        auto e = make(ExprKind::kLiteral);
        std::string s = next().value;
        while (peek().kind == TokenKind::kString) s += next().value;  // "a" "b" concatenates
        e->literal = Value::string(Text(std::move(s)));
        return e;
      }
      case TokenKind::kInteger: {
        auto e = make(ExprKind::kLiteral);
        const std::string digits = next().value;
        std::int64_t v = 0;
        const auto res = std::from_chars(digits.data(), digits.data() + digits.size(), v);
        if (res.ec != std::errc()) {
          e->literal = Value::floating(std::strtod(digits.c_str(), nullptr));
        } else {
          e->literal = Value::integer(v);
        }
        return e;
      }
      case TokenKind::kFloat: {
        auto e = make(ExprKind::kLiteral);
        e->literal = Value::floating(std::strtod(next().value.c_str(), nullptr));
        return e;
      }
      case TokenKind::kOperator:
        if (t.value == "(") {
          next();
          if (accept_op(")")) return make(ExprKind::kTuple);
          ExprPtr first = parse_expression();
          if (accept_op(")")) return first;
          auto tuple = make(ExprKind::kTuple);
          tuple->operands.push_back(std::move(first));
          while (accept_op(",")) {
            if (is_op(")")) break;
            tuple->operands.push_back(parse_expression());
          }
          expect_op(")");
          return tuple;
        }
        if (t.value == "[") {
          auto list = make(ExprKind::kList);
          next();
          while (!is_op("]")) {
            list->operands.push_back(parse_expression());
            if (!accept_op(",")) break;
          }
          expect_op("]");
          return list;
        }
        if (t.value == "{") {
          auto dict = make(ExprKind::kDict);
          next();
          while (!is_op("}")) {
            dict->operands.push_back(parse_expression());
            expect_op(":");
            dict->operands.push_back(parse_expression());
            if (!accept_op(",")) break;
          }
          expect_op("}");
          return dict;
        }
        break;
      default:
        break;
    }
    syntax("expected an expression");
  }

  ExprPtr parse_postfix(ExprPtr node) {
    while (true) {
      if (is_op(".")) {
        next();
        auto e = make(ExprKind::kAttribute);
        if (peek().kind == TokenKind::kInteger) {
          e->kind = ExprKind::kSubscript;
          auto index = make(ExprKind::kLiteral);
          index->literal = Value::integer(std::stoll(next().value));
          e->operands.push_back(std::move(node));
          e->operands.push_back(std::move(index));
        } else {
          e->name = expect_name();
          e->operands.push_back(std::move(node));
        }
        node = std::move(e);
      } else if (is_op("[")) {
        next();
        auto e = make(ExprKind::kSubscript);
        e->operands.push_back(std::move(node));
        e->operands.push_back(parse_subscript_argument());
        expect_op("]");
        node = std::move(e);
      } else if (is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_subscript_argument() {
    ExprPtr start;
    if (!is_op(":")) {
      start = parse_expression();
      if (!is_op(":")) return start;
    }
    auto slice = make(ExprKind::kSlice);
    next();  // ':'
    ExprPtr stop;
    ExprPtr step;
    if (!is_op("]") && !is_op(":")) stop = parse_expression();
    if (accept_op(":")) {
      if (!is_op("]")) step = parse_expression();
    }
    slice->operands.push_back(std::move(start));
    slice->operands.push_back(std::move(stop));
    slice->operands.push_back(std::move(step));
    return slice;
  }

  void parse_call_args(Expr& e) {
    expect_op("(");
    while (!is_op(")")) {
      if (peek().kind == TokenKind::kName && is_op("=", 1)) {
        std::string name = next().value;
        next();
        e.kwargs.emplace_back(std::move(name), parse_expression());
      } else {
        if (!e.kwargs.empty()) syntax("positional argument after keyword argument");
        e.operands.push_back(parse_expression());
      }
      if (!accept_op(",")) break;
    }
    expect_op(")");
  }

  ExprPtr parse_call(ExprPtr callee) {
    auto e = make(ExprKind::kCall);
    e->line = callee->line;
    e->operands.push_back(std::move(callee));
    parse_call_args(*e);
    return e;
  }

  ExprPtr parse_filter_expr(ExprPtr node) {
    while (true) {
      if (is_op("|")) {
        node = parse_filter_chain(std::move(node));
      } else if (is_name("is")) {
        node = parse_test(std::move(node));
      } else if (is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  // One or more "| name(args)"; the leading pipe is optional for {% filter %}.
  ExprPtr parse_filter_chain(ExprPtr node, bool leading_pipe = true) {
    bool first = true;
    while ((first && !leading_pipe) || accept_op("|")) {
      first = false;
      auto e = make(ExprKind::kFilter);
      e->name = expect_name();
      while (accept_op(".")) e->name += "." + expect_name();
      e->operands.push_back(std::move(node));
      if (is_op("(")) parse_call_args(*e);
      node = std::move(e);
      if (!leading_pipe) break;
    }
    return node;
  }

  ExprPtr parse_test(ExprPtr node) {
    next();  // 'is'
    auto e = make(ExprKind::kTest);
    e->negated = accept_name("not");
    e->name = expect_name();
    while (accept_op(".")) e->name += "." + expect_name();
    e->operands.push_back(std::move(node));
    const Token& t = peek();
    if (is_op("(")) {
      parse_call_args(*e);
    } else if ((t.kind == TokenKind::kName || t.kind == TokenKind::kString || t.kind == TokenKind::kInteger ||
                t.kind == TokenKind::kFloat || is_op("[") || is_op("{")) &&
               !is_name("else") && !is_name("or") && !is_name("and")) {
      if (is_name("is")) syntax("tests cannot be chained with 'is'");
      e->operands.push_back(parse_postfix(parse_primary()));
    }
    return e;
  }

  std::vector<Token> tokens_;
  std::size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

Body parse_template(std::string_view source) {
  Body body = Parser(tokenize(source)).parse_all();
  check_filter_and_test_names(body);
  return body;
}

}  // namespace pensieve::jinja
