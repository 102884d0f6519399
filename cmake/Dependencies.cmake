# Every dependency is a Debian package (scripts/install-deps.sh installs them).
find_package(Threads REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(spdlog REQUIRED)
find_package(PkgConfig REQUIRED)
# Beast and Asio (header-only) serve HTTP.
find_package(Boost 1.81 REQUIRED CONFIG COMPONENTS headers)
pkg_check_modules(ICU REQUIRED IMPORTED_TARGET icu-uc)
# libcurl fetches models from the Hugging Face hub (TLS, redirects, proxies); libcrypto checks
# their SHA-256.
find_package(CURL REQUIRED)
find_package(OpenSSL REQUIRED COMPONENTS Crypto)

# Debian ships cpp-httplib as a header of declarations plus a shared library built with OpenSSL,
# zlib and Brotli support, without a CMake package. Its pkg-config file carries the matching
# -DCPPHTTPLIB_*_SUPPORT flags: without them our view of httplib's classes is smaller than the
# library's (httplib::Client lacks is_ssl_), and the library writes past objects we allocate.
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
add_library(httplib::httplib INTERFACE IMPORTED)
set_target_properties(httplib::httplib PROPERTIES INTERFACE_LINK_LIBRARIES PkgConfig::HTTPLIB)
# libedit (BSD licensed, readline-compatible): `pensieve chat`'s line editing and history.
pkg_check_modules(LIBEDIT REQUIRED IMPORTED_TARGET libedit)

if(PENSIEVE_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(PENSIEVE_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
