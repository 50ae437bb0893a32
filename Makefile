# bridged builds. `make release` puts every release artifact in dist/:
#   bridged_<v>_linux_amd64, bridged_<v>_linux_arm64, bridged_<v>_windows_amd64.exe
#   bridged_<v>_windows_amd64.zip   the Windows bundle: exe, install.ps1, uninstall.ps1, bridged.yaml, install.md
#   bridged_<v>-1_<arch>.deb, bridged-<v>-1.<arch>.rpm   for amd64 and arm64
#   SHA256SUMS
# The same commit gives byte-identical files: static (CGO_ENABLED=0), -trimpath,
# no build id and no VCS stamp in the binaries, version and commit set by
# -ldflags, and the commit time (SOURCE_DATE_EPOCH) as every timestamp in the
# packages and the zip. .ci/packaging.sh builds twice and compares.
#
# Tools: Go; nfpm for the packages (NFPM=path; .ci/packaging.sh installs a
# pinned one); zip. `make docker` needs a Docker engine.

GO      ?= go
NFPM    ?= nfpm
DIST    ?= dist
OUT     ?= bridged
VERSION ?= $(shell git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null || echo v0.0.0-dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
export SOURCE_DATE_EPOCH

PKG_VERSION  := $(patsubst v%,%,$(VERSION))
LDFLAGS      := -s -w -buildid= -X main.version=$(VERSION) -X main.commit=$(COMMIT)
GOBUILD      := CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=false -ldflags '$(LDFLAGS)'
LINUX_ARCHES := amd64 arm64
WINDOWS_EXE  := $(DIST)/bridged_$(PKG_VERSION)_windows_amd64.exe
WINDOWS_ZIP  := $(DIST)/bridged_$(PKG_VERSION)_windows_amd64.zip
BINARIES     := $(foreach a,$(LINUX_ARCHES),$(DIST)/bridged_$(PKG_VERSION)_linux_$(a)) $(WINDOWS_EXE)

.PHONY: build release binaries packages windows-bundle checksums docker fuzz clean FORCE
.DELETE_ON_ERROR:

# bridged for this machine (or GOOS/GOARCH from the environment), as $(OUT).
build:
	$(GOBUILD) -o $(OUT) ./cmd/bridged

release:
	rm -rf $(DIST)
	$(MAKE) --no-print-directory checksums
	@echo "release $(VERSION) ($(COMMIT)) in $(DIST)/:" && ls -l $(DIST)

binaries: $(BINARIES)

$(DIST)/bridged_$(PKG_VERSION)_linux_%: FORCE
	GOOS=linux GOARCH=$* $(GOBUILD) -o $@ ./cmd/bridged

$(WINDOWS_EXE): FORCE
	GOOS=windows GOARCH=amd64 $(GOBUILD) -o $@ ./cmd/bridged

packages: binaries
	@for arch in $(LINUX_ARCHES); do for fmt in deb rpm; do \
	  echo "nfpm $$fmt $$arch"; \
	  ARCH=$$arch PKG_VERSION=$(PKG_VERSION) BRIDGED_BIN=$(DIST)/bridged_$(PKG_VERSION)_linux_$$arch \
	  BRIDGED_YAML=configs/bridged.example.yaml \
	  $(NFPM) package --config packaging/nfpm.yaml --packager $$fmt --target $(DIST)/ >/dev/null || exit 1; \
	done; done

# The Windows bundle a store's IT copies to the PC: see docs/install.md.
windows-bundle: $(WINDOWS_ZIP)

$(WINDOWS_ZIP): $(WINDOWS_EXE) packaging/windows/install.ps1 packaging/windows/uninstall.ps1 \
		packaging/windows/bridged-yaml.sed configs/bridged.example.yaml docs/install.md
	rm -rf $(DIST)/.stage $@ && mkdir -p $(DIST)/.stage/bridged
	cp $(WINDOWS_EXE) $(DIST)/.stage/bridged/bridged.exe
	cp packaging/windows/install.ps1 packaging/windows/uninstall.ps1 docs/install.md $(DIST)/.stage/bridged/
	sed -f packaging/windows/bridged-yaml.sed configs/bridged.example.yaml > $(DIST)/.stage/bridged/bridged.yaml
	grep -q "^data_dir: 'C:" $(DIST)/.stage/bridged/bridged.yaml
	grep -q "^  file: 'C:" $(DIST)/.stage/bridged/bridged.yaml
	chmod 0755 $(DIST)/.stage/bridged && chmod 0644 $(DIST)/.stage/bridged/*
	find $(DIST)/.stage -exec touch -h -d @$(SOURCE_DATE_EPOCH) {} +
	cd $(DIST)/.stage && TZ=UTC zip -X -D -q ../$(notdir $@) \
	  bridged/bridged.exe bridged/bridged.yaml bridged/install.md bridged/install.ps1 bridged/uninstall.ps1
	rm -rf $(DIST)/.stage

checksums: binaries packages windows-bundle
	cd $(DIST) && rm -f SHA256SUMS && find . -maxdepth 1 -type f ! -name SHA256SUMS -printf '%f\n' \
	  | LC_ALL=C sort | xargs sha256sum > SHA256SUMS

# For lab and CI use; the product is the service (docs/install.md).
docker:
	docker build --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) -t bridged:$(PKG_VERSION) .

# Fuzzes every target for FUZZTIME each (default 1m): FUZZTIME=5m make fuzz.
# docs/reliability-fuzz.md lists the targets; .ci/fuzz.sh runs their seeds only.
fuzz:
	bash .ci/fuzz.sh long

clean:
	rm -rf $(DIST)

FORCE:
