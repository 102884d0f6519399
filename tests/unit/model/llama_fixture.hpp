// The llama F32 fixture model, loaded once per test suite that derives from LlamaF32Test.
#pragma once

#include <gtest/gtest.h>

#include "contents_editing.hpp"
#include "model/model.hpp"

namespace pensieve::model::testing {

class LlamaF32Test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto m = Model::load(model_path("llama-f32.gguf"));
    ASSERT_TRUE(m.ok()) << m.error().message;
    model_ = std::move(*m).release();
  }
  static void TearDownTestSuite() {
    delete model_;
    model_ = nullptr;
  }

  static std::size_t vocab() { return model_->hparams().n_vocab; }

  static inline Model* model_ = nullptr;
};

}  // namespace pensieve::model::testing
