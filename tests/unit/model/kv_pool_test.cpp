// Sequences on a shared KV pool: a shared prefix continues with the bits of computing it all, and
// neither holder sees the other's writes (copy on write); blocks come back on truncate, clear and
// destruction, and their memory with them; a batch the pool cannot hold is refused whole; pinned
// and unpinned holders are counted; a saved prefix loads back from a longer one.
#include "model/kv_pool.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <numeric>
#include <vector>

#include "contents_editing.hpp"
#include "llama_fixture.hpp"
#include "model/model.hpp"

namespace pensieve::model {
namespace {

using testing::kModels;

std::vector<std::int32_t> tokens(std::size_t n, std::int32_t seed) {
  std::vector<std::int32_t> t(n);
  for (std::size_t i = 0; i < n; ++i)
    t[i] = static_cast<std::int32_t>((i * 37 + static_cast<std::size_t>(seed) * 11) % 400 + 1);
  return t;
}

class KvPoolTest : public testing::LlamaF32Test {
 protected:
  std::shared_ptr<KvPool> pool(std::uint32_t blocks, kernels::KvType type = kernels::KvType::kF32) const {
    auto p = model_->create_kv_pool(blocks, type);
    EXPECT_TRUE(p.ok()) << p.error().message;
    return std::move(*p);
  }
  Sequence on(const std::shared_ptr<KvPool>& p, std::uint32_t max_tokens = 1024) const {
    auto seq = model_->create_sequence(p, max_tokens);
    EXPECT_TRUE(seq.ok()) << seq.error().message;
    return std::move(*seq);
  }
  // Appends `t` and returns the logits of every one of its rows.
  std::vector<float> forward(Sequence& seq, std::span<const std::int32_t> t) const {
    std::vector<std::uint32_t> rows(t.size());
    std::iota(rows.begin(), rows.end(), 0u);
    std::vector<float> logits(rows.size() * vocab());
    const Status s = model_->forward(seq, t, rows, logits);
    EXPECT_TRUE(s.ok()) << s.error().message;
    return logits;
  }
  // The logits of `rest` after `prefix`, computed by a sequence of its own that computes both.
  std::vector<float> reference(std::span<const std::int32_t> prefix,
                               std::span<const std::int32_t> rest) const {
    auto seq = model_->create_sequence(static_cast<std::uint32_t>(prefix.size() + rest.size()));
    EXPECT_TRUE(seq.ok());
    EXPECT_TRUE(model_->forward(*seq, prefix, {}, {}).ok());
    return forward(*seq, rest);
  }
  static bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
  }
};

TEST_F(KvPoolTest, ASharedPrefixContinuesBitForBitAndCopiesOnWrite) {
  const auto text = tokens(160, 1), other = tokens(60, 2);
  const std::span<const std::int32_t> all(text);
  for (std::uint32_t n : {64u, 100u}) {  // on a block boundary, and inside a block
    SCOPED_TRACE("shared prefix of " + std::to_string(n));
    auto p = pool(16);
    Sequence a = on(p);
    ASSERT_TRUE(model_->forward(a, all.first(130), {}, {}).ok());
    Sequence b = on(p);
    ASSERT_TRUE(b.share_prefix(a, n).ok());
    EXPECT_EQ(b.size(), n);
    EXPECT_EQ(p->used_blocks(), 3u) << "nothing copied yet";

    // b goes on its own way; a's block holding position n (if it holds some of it) is copied.
    const auto b_logits = forward(b, other);
    EXPECT_TRUE(same_bits(b_logits, reference(all.first(n), other)));
    EXPECT_EQ(p->used_blocks(), 3u + (n + 60 + 63) / 64 - n / 64);

    // a's later tokens see none of b's: as if b had never been.
    const auto a_logits = forward(a, all.subspan(130));
    EXPECT_TRUE(same_bits(a_logits, reference(all.first(130), all.subspan(130))));
  }
}

TEST_F(KvPoolTest, TheOriginalWritingIntoASharedBlockCopiesItToo) {
  const auto text = tokens(150, 3), other = tokens(40, 4);
  const std::span<const std::int32_t> all(text);
  auto p = pool(8);
  Sequence a = on(p);
  ASSERT_TRUE(model_->forward(a, all.first(100), {}, {}).ok());
  Sequence b = on(p);
  ASSERT_TRUE(b.share_prefix(a, 100).ok());
  EXPECT_EQ(p->used_blocks(), 2u);
  // Into block 1, which b holds too: a copies it, and takes one more for positions 128…149.
  const auto a_logits = forward(a, all.subspan(100));
  EXPECT_EQ(p->used_blocks(), 4u);
  EXPECT_TRUE(same_bits(a_logits, reference(all.first(100), all.subspan(100))));
  const auto b_logits = forward(b, other);  // block 1 is b's alone now: written in place
  EXPECT_EQ(p->used_blocks(), 5u);
  EXPECT_TRUE(same_bits(b_logits, reference(all.first(100), other)));
}

TEST_F(KvPoolTest, TruncateClearAndDestructionGiveBlocksBack) {
  const auto text = tokens(200, 5);
  auto p = pool(8);
  EXPECT_EQ(p->free_blocks(), 8u);
  {
    Sequence a = on(p);
    EXPECT_EQ(p->free_blocks(), 8u) << "an empty sequence holds nothing";
    ASSERT_TRUE(model_->forward(a, text, {}, {}).ok());
    EXPECT_EQ(a.kv_blocks(), 4u);
    EXPECT_EQ(p->free_blocks(), 4u);
    a.truncate(130);
    EXPECT_EQ(p->free_blocks(), 5u);
    a.truncate(128);
    EXPECT_EQ(p->free_blocks(), 6u);
    Sequence b = on(p);
    ASSERT_TRUE(b.share_prefix(a, 128).ok());
    EXPECT_EQ(p->free_blocks(), 6u);
    a.clear();
    EXPECT_EQ(p->free_blocks(), 6u) << "b still holds them";
    Sequence moved = std::move(b);
    EXPECT_EQ(p->free_blocks(), 6u);
    ASSERT_TRUE(model_->forward(a, text, {}, {}).ok());
    EXPECT_EQ(p->free_blocks(), 2u);
  }
  EXPECT_EQ(p->free_blocks(), 8u);
  EXPECT_EQ(p->held_bytes(), 0u);
}

TEST_F(KvPoolTest, ABatchThePoolCannotHoldIsRefusedWhole) {
  const auto text = tokens(200, 6);
  const std::span<const std::int32_t> all(text);
  auto p = pool(3);
  Sequence a = on(p), b = on(p);
  ASSERT_TRUE(model_->forward(a, all.first(100), {}, {}).ok());
  ASSERT_EQ(p->free_blocks(), 1u);
  auto workspace = model_->create_workspace(128);
  ASSERT_TRUE(workspace.ok());
  // a needs one more block for positions 128…139, b two for 70 tokens: one is free.
  const BatchPart parts[] = {{&a, all.subspan(100, 40), {}, {}}, {&b, all.first(70), {}, {}}};
  const Status refused = model_->forward_batch(*workspace, parts);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kResourceExhausted);
  EXPECT_NE(refused.error().message.find("KV pool exhausted: 3 blocks needed, 1 free"), std::string::npos)
      << refused.error().message;
  EXPECT_EQ(a.size(), 100u);
  EXPECT_EQ(b.size(), 0u);
  EXPECT_EQ(p->free_blocks(), 1u) << "what the first part took went back";

  // The same through forward, and a copy on write counts as a block needed.
  Sequence c = on(p);
  ASSERT_TRUE(c.share_prefix(a, 100).ok());
  const Status alone = model_->forward(c, all.subspan(100, 40), {}, {});
  ASSERT_FALSE(alone.ok());
  EXPECT_NE(alone.error().message.find("2 blocks needed, 1 free"), std::string::npos)
      << alone.error().message;
  EXPECT_EQ(c.size(), 100u);
  EXPECT_EQ(p->free_blocks(), 1u);

  // What fits goes through.
  c.clear();
  ASSERT_TRUE(model_->forward_batch(*workspace, std::span(parts).first(1)).ok());
  EXPECT_EQ(a.size(), 140u);
  EXPECT_EQ(p->free_blocks(), 0u);
}

TEST_F(KvPoolTest, PinnedAndUnpinnedHoldersAreCounted) {
  const auto text = tokens(130, 7);
  auto p = pool(8);
  Sequence a = on(p);
  EXPECT_TRUE(a.pinned());
  ASSERT_TRUE(model_->forward(a, text, {}, {}).ok());  // 3 blocks
  EXPECT_EQ(p->unpinned_only_blocks(), 0u);
  Sequence b = on(p);
  ASSERT_TRUE(b.share_prefix(a, 128).ok());
  b.set_pinned(false);  // b is kept for reuse only
  EXPECT_EQ(p->unpinned_only_blocks(), 0u) << "a still uses them";
  a.clear();
  EXPECT_EQ(p->unpinned_only_blocks(), 2u);
  b.set_pinned(true);  // reused by a request
  EXPECT_EQ(p->unpinned_only_blocks(), 0u);
  b.set_pinned(false);
  Sequence c = on(p);
  c.set_pinned(false);
  ASSERT_TRUE(model_->forward(c, std::span(text).first(10), {}, {}).ok());
  EXPECT_EQ(p->unpinned_only_blocks(), 3u);
  a = on(p);
  ASSERT_TRUE(a.share_prefix(b, 64).ok());  // a pinned holder of b's first block
  EXPECT_EQ(p->unpinned_only_blocks(), 2u);
  { Sequence gone = std::move(b); }
  EXPECT_EQ(p->unpinned_only_blocks(), 1u);
  EXPECT_EQ(p->used_blocks(), 2u);
}

std::uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

TEST_F(KvPoolTest, FreedBlocksGiveTheirMemoryBack) {
  const auto text = tokens(512, 8);
  auto p = pool(8);
  Sequence a = on(p);
  ASSERT_TRUE(model_->forward(a, text, {}, {}).ok());
  const std::uint64_t pool_bytes = std::uint64_t{8} * p->block_bytes();
  EXPECT_EQ(p->held_bytes(), pool_bytes);
  const std::uint64_t before = resident_bytes();
  a.clear();
  const std::uint64_t after = resident_bytes();
  EXPECT_EQ(p->held_bytes(), 0u);
  // Every block was written whole, so all its pages were resident; now none is.
  EXPECT_GE(before - std::min(before, after), pool_bytes * 9 / 10)
      << "resident " << before << " → " << after << " bytes, pool " << pool_bytes;
}

// Model::create_sequence(n_ctx) works as a contiguous cache did: its own pool, sized for its
// context and resident from the start, so what serving counts at start-up is what it holds.
TEST_F(KvPoolTest, ASequencesOwnPoolIsResidentAndSizedForItsContext) {
  const std::uint64_t before = resident_bytes();
  auto seq = model_->create_sequence(8 * 64 - 10);
  ASSERT_TRUE(seq.ok());
  const KvPool& own = *seq->kv_pool();
  EXPECT_GE(resident_bytes() - std::min(resident_bytes(), before), 8 * own.block_bytes() * 9 / 10);
  EXPECT_EQ(own.paging(), KvPool::Paging::kResident);
  EXPECT_EQ(own.total_blocks(), 8u);
  EXPECT_EQ(seq->capacity(), 8u * 64 - 10);
  ASSERT_TRUE(model_->forward(*seq, tokens(8 * 64 - 10, 11), {}, {}).ok());
  EXPECT_EQ(own.free_blocks(), 0u);
  seq->clear();
  EXPECT_EQ(own.free_blocks(), 8u);
  EXPECT_EQ(model_->create_kv_pool(8, kernels::KvType::kF16).value()->paging(), KvPool::Paging::kOnDemand);
}

TEST_F(KvPoolTest, APrefixLoadsBackFromALongerSavedOne) {
  const auto text = tokens(200, 9);
  const std::span<const std::int32_t> all(text);
  auto p = pool(8, kernels::KvType::kF16);
  Sequence a = on(p);
  ASSERT_TRUE(model_->forward(a, all.first(195), {}, {}).ok());
  std::vector<std::uint8_t> saved;
  ASSERT_TRUE(a.save_prefix(192, [&](std::span<const std::uint8_t> piece) -> Status {
                 saved.insert(saved.end(), piece.begin(), piece.end());
                 return {};
               }).ok());
  ASSERT_EQ(saved.size(), Sequence::prefix_bytes(model_->hparams(), kernels::KvType::kF16, 192));

  // The canonical order: per layer and head, the keys of [0, 192) as three tiles, then the values.
  const kernels::KvBlockLayout& layout = p->layout();
  const std::size_t head_bytes = 3 * (layout.key_tile_bytes() + 64 * layout.v_row_bytes());
  const std::uint8_t* block1 = p->block_data(1);  // a's second block: positions 64…127
  EXPECT_EQ(std::memcmp(saved.data() + layout.key_tile_bytes(), block1, layout.key_tile_bytes()), 0);
  EXPECT_EQ(std::memcmp(saved.data() + head_bytes * layout.n_head_kv + 3 * layout.key_tile_bytes() +
                            64 * layout.v_row_bytes(),
                        block1 + layout.layer_bytes() + layout.n_head_kv * layout.key_tile_bytes(),
                        64 * layout.v_row_bytes()),
            0)
      << "layer 1, head 0, values of positions 64…127";

  Sequence b = on(p, 300);
  std::size_t at = 0, skipped = 0;
  const Status loaded = b.load_prefix(
      128, 192,
      [&](std::span<std::uint8_t> piece) -> Status {
        std::memcpy(piece.data(), saved.data() + at, piece.size());
        at += piece.size();
        return {};
      },
      [&](std::size_t bytes) -> Status {
        at += bytes;
        skipped += bytes;
        return {};
      });
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(at, saved.size());
  EXPECT_EQ(skipped, saved.size() / 3);
  EXPECT_EQ(b.size(), 128u);
  EXPECT_EQ(b.kv_blocks(), 2u);

  std::vector<std::uint8_t> resaved;
  ASSERT_TRUE(b.save_prefix(128, [&](std::span<const std::uint8_t> piece) -> Status {
                 resaved.insert(resaved.end(), piece.begin(), piece.end());
                 return {};
               }).ok());
  std::vector<std::uint8_t> first128;
  ASSERT_TRUE(a.save_prefix(128, [&](std::span<const std::uint8_t> piece) -> Status {
                 first128.insert(first128.end(), piece.begin(), piece.end());
                 return {};
               }).ok());
  EXPECT_EQ(resaved, first128);

  // It continues as the original would have (the same type on both sides).
  auto ref = model_->create_sequence(200, {.kv_type = kernels::KvType::kF16});
  ASSERT_TRUE(ref.ok());
  ASSERT_TRUE(model_->forward(*ref, all.first(128), {}, {}).ok());
  EXPECT_TRUE(same_bits(forward(b, all.subspan(128, 30)), forward(*ref, all.subspan(128, 30))));

  // A failing read leaves nothing behind.
  const std::uint32_t free_before = p->free_blocks();
  Sequence c = on(p);
  const Status failed = c.load_prefix(
      128, 128,
      [](std::span<std::uint8_t>) -> Status { return make_error(ErrorCode::kInvalidFormat, "short"); },
      [](std::size_t) -> Status { return {}; });
  EXPECT_FALSE(failed.ok());
  EXPECT_EQ(c.size(), 0u);
  EXPECT_EQ(p->free_blocks(), free_before);
  EXPECT_FALSE(c.load_prefix(
                    192, 128, [](std::span<std::uint8_t>) -> Status { return {}; },
                    [](std::size_t) -> Status { return {}; })
                   .ok());
}

TEST_F(KvPoolTest, SharingNeedsOnePoolAndPoolsFitTheirModel) {
  auto p = pool(4), q = pool(4);
  Sequence a = on(p), b = on(q);
  ASSERT_TRUE(model_->forward(a, tokens(10, 10), {}, {}).ok());
  const Status s = b.share_prefix(a, 5);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("one KV pool"), std::string::npos);
  EXPECT_FALSE(on(p).share_prefix(a, 11).ok()) << "more than a holds";
  auto tiny = model_->create_sequence(p, 8);
  ASSERT_TRUE(tiny.ok());
  EXPECT_EQ(tiny->capacity(), 8u);
  EXPECT_FALSE(tiny->share_prefix(a, 9).ok()) << "more than it may hold";

  EXPECT_FALSE(model_->create_kv_pool(0, kernels::KvType::kF16).ok());
  EXPECT_FALSE(model_->create_sequence(nullptr, 8).ok());
  EXPECT_FALSE(model_->create_sequence(p, 0).ok());
  auto qwen = Model::load(kModels + "qwen3-q8_0.gguf");
  ASSERT_TRUE(qwen.ok());
  auto foreign = (*qwen)->create_kv_pool(4, kernels::KvType::kF32);
  ASSERT_TRUE(foreign.ok());
  EXPECT_FALSE(model_->create_sequence(*foreign, 8).ok());

  // The pool's figures.
  EXPECT_EQ(p->total_blocks(), 4u);
  EXPECT_EQ(p->block_bytes(), KvPool::block_bytes_for(model_->hparams(), kernels::KvType::kF32));
  EXPECT_EQ(p->block_bytes() % KvPool::kPageBytes, 0u);
  EXPECT_GE(p->block_bytes(), p->layout().bytes());
  EXPECT_EQ(KvPool::bytes_for(model_->hparams(), kernels::KvType::kF32, 4), 4 * p->block_bytes());
}

}  // namespace
}  // namespace pensieve::model
