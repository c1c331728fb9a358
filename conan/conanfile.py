# Builds outside Debian 12: the same dependencies as scripts/install-deps.sh, pinned to the
# versions Debian 12 ships (CAF must stay at 0.17.x: 0.18 changed the API we use).
# CI does not exercise this file; `make` uses Debian's packages.
#
#   conan install conan --output-folder=build-conan --build=missing
#   cmake -S . -B build-conan -DCMAKE_TOOLCHAIN_FILE=build-conan/conan_toolchain.cmake
from conan import ConanFile
from conan.tools.cmake import cmake_layout


class LibrarianConan(ConanFile):
    name = "librarian"
    version = "0.1.0"
    settings = "os", "compiler", "build_type", "arch"
    generators = "CMakeDeps", "CMakeToolchain"

    def requirements(self):
        self.requires("caf/0.17.6")
        self.requires("rocksdb/7.8.3")
        self.requires("boost/1.74.0")
        self.requires("cereal/1.3.2")
        self.requires("openssl/3.0.11")
        self.requires("nlohmann_json/3.11.2")
        self.requires("cli11/2.1.2")
        self.requires("xxhash/0.8.1")
        self.requires("editline/3.1")

    def build_requirements(self):
        self.test_requires("doctest/2.4.9")

    def layout(self):
        cmake_layout(self)
