// A throwaway directory standing in for / (proc and sys files) in memory-guard tests.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace pensieve::memory::testing {

class FakeTree {
 public:
  FakeTree() {
    std::string pattern = (std::filesystem::temp_directory_path() / "pensieve-memory-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    root_ = pattern;
  }
  ~FakeTree() {
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }
  FakeTree(const FakeTree&) = delete;
  FakeTree& operator=(const FakeTree&) = delete;

  const std::string& root() const { return root_; }
  std::string path(const std::string& relative) const { return root_ + "/" + relative; }

  void write(const std::string& relative, const std::string& content) const {
    const std::filesystem::path p = path(relative);
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
  }
  void mkdir(const std::string& relative) const { std::filesystem::create_directories(path(relative)); }
  void remove(const std::string& relative) const { std::filesystem::remove(path(relative)); }

  // A host with `total_kib` and `available_kib` in /proc/meminfo.
  void write_meminfo(std::uint64_t total_kib, std::uint64_t available_kib) const {
    write("proc/meminfo", meminfo_text(total_kib, available_kib));
  }
  static std::string meminfo_text(std::uint64_t total_kib, std::uint64_t available_kib) {
    return "MemTotal:       " + std::to_string(total_kib) +
           " kB\nMemFree:        " + std::to_string(available_kib / 2) +
           " kB\nMemAvailable:   " + std::to_string(available_kib) +
           " kB\nBuffers:           1024 kB\nCached:          204800 kB\nSwapTotal:             0 kB\n"
           "SwapFree:              0 kB\n";
  }

  // The rest of a complete, healthy /proc for pid "self" with no cgroup limits.
  void write_process_files() const {
    write("proc/self/status",
          "Name:\tpensieve\nVmPeak:\t  200000 kB\nVmRSS:\t   30000 kB\nRssAnon:\t   10000 kB\n"
          "RssFile:\t   19000 kB\nRssShmem:\t    1000 kB\nThreads:\t4\n");
    write("proc/vmstat", "nr_free_pages 100\npswpin 10\npswpout 20\npgfault 5\n");
    write("proc/pressure/memory",
          "some avg10=1.50 avg60=0.75 avg300=0.10 total=12345\nfull avg10=0.50 avg60=0.25 avg300=0.00 "
          "total=99\n");
  }

 private:
  std::string root_;
};

}  // namespace pensieve::memory::testing
