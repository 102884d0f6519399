// The per-token path on the request's side — OutputQueue → OutputPipeline (decode, stops, the
// Qwen3 family parser, SSE frames) → the bytes handed to the socket — under a counting
// allocator: once its buffers have grown, a streamed token allocates nothing but the doubling of
// the message's own content (the whole answer is kept for message()).
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <new>

#include "api/chat_frontend.hpp"
#include "api/response_stream.hpp"
#include "gguf/reader.hpp"
#include "support/sample_answer.hpp"

namespace {
std::atomic<bool> counting{false};
std::atomic<std::size_t> allocations{0};
}  // namespace

// Every plain form of new and delete, so that each pair meets the same malloc and free (a
// sanitizer's own operator new must never be freed by ours).
namespace {
void* counted_malloc(std::size_t n) noexcept {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n == 0 ? 1 : n);
}
}  // namespace

void* operator new(std::size_t n) {
  if (void* p = counted_malloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  if (void* p = counted_malloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return counted_malloc(n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return counted_malloc(n);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}

namespace pensieve::api {
namespace {

using namespace std::chrono_literals;

TEST(OutputAllocation, AStreamedTokenAllocatesNothingOnceBuffersHaveGrown) {
  auto file = gguf::File::open(PENSIEVE_FIXTURES "/models/qwen3-q8_0.gguf");
  ASSERT_TRUE(file.ok());
  auto frontend = ChatFrontend::from_gguf(file->contents());
  ASSERT_TRUE(frontend.ok()) << frontend.error().message;
  auto parsed = parse_messages_request(
      std::string_view(
          R"({"model": "m", "max_tokens": 100000, "stream": true, "thinking": {"type": "enabled", "budget_tokens": 2000},
          "messages": [{"role": "user", "content": "fix it"}]})"),
      RequestKind::kCreate);
  ASSERT_FALSE(parsed.error);
  auto prompt = (*frontend)->prompt(*parsed.request);
  ASSERT_TRUE(prompt.ok());
  const std::vector<std::int32_t> tokens = (*frontend)->tokenizer().encode(testing::sample_answer(80), false);
  ASSERT_GT(tokens.size(), 4000u);

  ResponseStream stream(*parsed.request, **frontend, *prompt, "req_alloc", anthropic_format());
  engine::OutputQueue& queue = *stream.queue();
  std::string out;
  out.reserve(1 << 16);
  queue.on_prompt_cached(0);
  std::size_t bytes = 0;
  const std::size_t warm = 1000;
  std::size_t counted_bytes = 0;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (i == warm) counting = true;
    ASSERT_TRUE(queue.on_token(tokens[i]));
    ASSERT_NE(stream.poll(out, 0ms), ResponseStream::Poll::kDone);
    bytes += out.size();
    if (counting) counted_bytes += out.size();
    out.clear();
  }
  counting = false;
  const std::size_t counted = allocations.load();
  const std::size_t tokens_counted = tokens.size() - warm;
  // The answer's content doubles at most log2(growth) times in the window (×2 for text and
  // reasoning blocks' own strings, plus the queue's buffers trading places once).
  const double growth_doublings =
      std::log2(static_cast<double>(bytes) / static_cast<double>(bytes - counted_bytes));
  std::printf("%zu tokens streamed, %zu SSE bytes; %zu allocations over the last %zu tokens\n", tokens.size(),
              bytes, counted, tokens_counted);
  EXPECT_LE(counted, static_cast<std::size_t>(std::ceil(growth_doublings)) + 4);

  engine::GenerationResult done;
  done.reason = engine::FinishReason::kEndOfGeneration;
  done.output_tokens = static_cast<std::int64_t>(tokens.size());
  queue.on_finished(done);
  EXPECT_EQ(stream.poll(out, 0ms), ResponseStream::Poll::kDone);
  EXPECT_NE(out.find("message_stop"), std::string::npos);
}

}  // namespace
}  // namespace pensieve::api
