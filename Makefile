# Skolegang: the README's commands. `make test` is what CI runs.
#
# The cargo target directory is kept outside the clone so repeated runs (and CI on the
# same machine) reuse the build.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/skolegang-target

CARGO ?= cargo
# Builds use exactly the committed Cargo.lock (docs/security.md, "Supply chain").
LOCKED ?= --locked
# The Python venv for the tests' helpers (moto's S3 server), outside the clone like the
# target directory, so repeated runs reuse it.
VENV ?= $(HOME)/.cache/skolegang-venv
export SKOLEGANG_PYTHON ?= $(VENV)/bin/python
AXE_VERSION ?= 4.14.1
AXE_SHA256 ?= e6b0ce02b84d892e2e33e403485e7f3d6c29e2be6df65daf44d89ba564139745
AXE_DIR ?= $(HOME)/.cache/skolegang-axe
export SKOLEGANG_AXE ?= $(AXE_DIR)/axe-$(AXE_VERSION).min.js
SCALE ?= 1.0
SEED ?= 1

.PHONY: all build run test fmt-check clippy unit venv axe fixtures sample release release-fixtures bench dictionary fuzz

all: test

build:
	$(CARGO) build $(LOCKED) --workspace

## release: the deployed binary, $(CARGO_TARGET_DIR)/release/skolegang, with its line tables
## and symbols split off into skolegang.debug beside it (found through its debug link)
release:
	$(CARGO) build $(LOCKED) --release -p skolegang
	@$(call split_debug,$(CARGO_TARGET_DIR)/release/skolegang)

# The release binary with the fixture generator (the cargo feature `fixtures`).
release-fixtures:
	$(CARGO) build $(LOCKED) --release -p skolegang --features fixtures
	@$(call split_debug,$(CARGO_TARGET_DIR)/release/skolegang)

# Moves a binary's line tables and symbols into <binary>.debug and links it from the
# binary (.gnu_debuglink), so the deployed file is small and a backtrace, gdb or addr2line
# still find function, file and line where the .debug file lies beside it. Cargo links a
# fresh copy into place on every build, so this runs after each.
define split_debug
if readelf -S $(1) | grep -q '\.debug_line'; then \
  objcopy --only-keep-debug $(1) $(1).debug \
  && objcopy --strip-all --add-gnu-debuglink=$(1).debug $(1) \
  && echo "$(1): $$(( $$(stat -c %s $(1)) / 1048576 )) MiB (line tables and symbols in $(1).debug)"; fi
endef

## run: installs what the build and the PDFs need (see `prerequisites`), builds, and runs
## the nightly batch on the committed sample, into ./out
run: prerequisites-run release
	$(CARGO_TARGET_DIR)/release/skolegang run --output ./out

## test: installs what the tests need, then formatting, lints with -D warnings, and every
## test (one dev build profile)
test: prerequisites-test fmt-check clippy unit

# System packages, by the commands that need them (Debian/Ubuntu names):
#   the build: HiGHS (the LP solver, built from source by the highs crate) needs CMake, a
#   C++ compiler and libclang; the PDFs need Chromium and its fonts;
#   the tests also: poppler (pdftotext, pdfinfo), LibreOffice Calc (the CSV test), curl
#   (axe-core), Python's venv (the test venv).
PACKAGES_RUN = make gcc g++ binutils cmake libclang-dev chromium fonts-liberation fonts-dejavu-core
PACKAGES_TEST = $(PACKAGES_RUN) poppler-utils libreoffice-calc-nogui curl python3-venv python3-pip
# A command per package, to see whether it is there without asking dpkg.
CHECK_RUN = command -v make && command -v cc && command -v c++ && command -v objcopy && command -v cmake \
  && ls /usr/lib/llvm-*/lib/libclang.so* && command -v chromium \
  && ls /usr/share/fonts/truetype/liberation /usr/share/fonts/truetype/dejavu
CHECK_TEST = $(CHECK_RUN) && command -v pdftotext && command -v pdfinfo && command -v soffice && ls /usr/lib/libreoffice/program/soffice.bin \
  && command -v curl && python3 -m venv --help

## prerequisites: the system packages the commands need. Missing ones are installed with
## apt-get when it may (root, or passwordless sudo); otherwise it stops at once, before any
## build, with the exact command to run.
.PHONY: prerequisites-run prerequisites-test
prerequisites-run:
	@$(call prerequisites,$(CHECK_RUN),$(PACKAGES_RUN))

prerequisites-test:
	@$(call prerequisites,$(CHECK_TEST),$(PACKAGES_TEST))
	@cargo fmt --version >/dev/null 2>&1 && cargo clippy --version >/dev/null 2>&1 \
	  || rustup component add rustfmt clippy

define prerequisites
if ( $(1) ) >/dev/null 2>&1; then exit 0; fi; \
if [ "$$(id -u)" = 0 ]; then SUDO=; \
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO=sudo; \
else echo "missing system packages; run this first, then make again:"; \
  echo "  sudo apt-get update && sudo apt-get install -y $(2)"; exit 1; fi; \
if ! command -v apt-get >/dev/null; then echo "missing system packages and no apt-get: install (Debian names) $(2)"; exit 1; fi; \
echo "installing system packages: $(2)"; \
$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(2)
endef

fmt-check:
	$(CARGO) fmt --all --check

clippy:
	$(CARGO) clippy $(LOCKED) --workspace --all-targets -- -D warnings
	$(CARGO) clippy $(LOCKED) -p skolegang --bin skolegang -- -D warnings

unit: venv axe
	SKOLEGANG_ALL_TESTS=1 $(CARGO) test $(LOCKED) --workspace

## fuzz: before a release, the byte-mutation fuzz run long: FUZZ_CASES (default 10000)
## mutated files of each extract (tests/damaged.rs; `make test` runs 8 of each)
FUZZ_CASES ?= 10000
fuzz:
	SKOLEGANG_FUZZ_CASES=$(FUZZ_CASES) $(CARGO) test $(LOCKED) -p skolegang-tests --test e2e damaged::mutated -- --nocapture

## venv: the Python packages the tests use (tests/requirements.txt), in $(VENV)
venv: $(VENV)/.installed

# Installed from the hashed lock file (pip-compile --generate-hashes of
# tests/requirements.txt): every package and its dependencies pinned and checked.
$(VENV)/.installed: tests/requirements.lock
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --require-hashes -r tests/requirements.lock
	cp tests/requirements.lock $@

## axe: axe-core's axe.min.js (the accessibility engine the report tests run in
## Chromium) from the npm registry, pinned by version and checksum, outside the clone
axe: $(SKOLEGANG_AXE)

$(SKOLEGANG_AXE):
	mkdir -p $(AXE_DIR)
	curl -fsSL --retry 3 -o $(AXE_DIR)/axe-core-$(AXE_VERSION).tgz https://registry.npmjs.org/axe-core/-/axe-core-$(AXE_VERSION).tgz
	echo "$(AXE_SHA256)  $(AXE_DIR)/axe-core-$(AXE_VERSION).tgz" | sha256sum -c -
	tar -xzf $(AXE_DIR)/axe-core-$(AXE_VERSION).tgz -C $(AXE_DIR) package/axe.min.js
	mv $(AXE_DIR)/package/axe.min.js $@

## dictionary: regenerate docs/data-dictionary.md from pipeline/src/dictionary.rs
dictionary: build
	$(CARGO_TARGET_DIR)/debug/skolegang describe > docs/data-dictionary.md

## fixtures: synthetic extracts at SCALE (default 1.0: a national population) into fixtures/generated/
fixtures: release-fixtures
	$(CARGO_TARGET_DIR)/release/skolegang fixtures --out fixtures/generated/scale-$(SCALE) --scale $(SCALE) --seed $(SEED)

## sample: regenerate the committed sample (the exact command in fixtures/sample/README.md)
sample: release-fixtures
	$(CARGO_TARGET_DIR)/release/skolegang fixtures --out fixtures/sample --scale 0.01 --seed 1 --bad-rows 1

## fresh-check: the README's two commands as a new user runs them, from a fresh clone of
## HEAD with an empty target directory, venv and axe cache under FRESH (which must not
## exist yet), each timed; make run must leave out/current with 98 report bundles
FRESH ?= /tmp/skolegang-fresh
fresh-check:
	@test ! -e $(FRESH) || { echo "$(FRESH) exists: remove it or set FRESH"; exit 1; }
	mkdir -p $(FRESH) && git clone -q . $(FRESH)/clone
	cd $(FRESH)/clone && fresh="env -u SKOLEGANG_PYTHON -u SKOLEGANG_AXE -u MAKEFLAGS \
	  CARGO_TARGET_DIR=$(FRESH)/target VENV=$(FRESH)/venv AXE_DIR=$(FRESH)/axe" \
	  && start=$$(date +%s) && $$fresh make run \
	  && echo "make run (cold): $$(( $$(date +%s) - start )) s" | tee -a $(FRESH)/times.txt \
	  && bundles=$$(ls out/current/published/bundles/*.zip | wc -l) \
	  && echo "report bundles: $$bundles" | tee -a $(FRESH)/times.txt && test "$$bundles" = 98 \
	  && start=$$(date +%s) && $$fresh make test \
	  && echo "make test (cold): $$(( $$(date +%s) - start )) s" | tee -a $(FRESH)/times.txt
	@cat $(FRESH)/times.txt

## bench: release build; 1x and 10x fixtures (cached); time `skolegang run` and DuckDB on
## the same files; the PDF stage; print a table and append it to bench/results.md
bench: release-fixtures venv
	$(SKOLEGANG_PYTHON) bench/bench.py
