// encode_cases VOCAB.gguf CASES.json OUT.json: loads VOCAB.gguf through the normal tokenizer loading
// path and writes, for each text of the JSON array CASES.json, the ids it encodes to (special-token
// text parsed, no BOS/EOS added) as a JSON array of arrays; OUT.json also names the pre-tokenizer.
// The reference test compares these ids with a reference tokenizer's.
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "tokenizer/tokenizer.hpp"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: encode_cases VOCAB.gguf CASES.json OUT.json\n";
    return 2;
  }
  auto tok = pensieve::tokenizer::Tokenizer::from_file(argv[1]);
  if (!tok) {
    std::cerr << "encode_cases: " << argv[1] << ": " << tok.error().message << "\n";
    return 1;
  }
  std::ifstream in(argv[2], std::ios::binary);
  const nlohmann::json cases = nlohmann::json::parse(in, nullptr, false);
  if (!cases.is_array()) {
    std::cerr << "encode_cases: " << argv[2] << " is not a JSON array\n";
    return 1;
  }
  nlohmann::json ids = nlohmann::json::array();
  for (const auto& text : cases) ids.push_back(tok->encode(text.get<std::string>(), true));
  const nlohmann::json out = {{"pre_tokenizer", std::string(tok->pre_tokenizer())}, {"ids", ids}};
  std::ofstream(argv[3], std::ios::binary) << out.dump();
  return 0;
}
