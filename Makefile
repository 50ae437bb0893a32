# bridged builds. `make release` puts every release artifact in dist/:
#   bridged_<v>_linux_amd64, bridged_<v>_linux_arm64, bridged_<v>_windows_amd64.exe
#   bridged_<v>_windows_amd64.msi   the Windows package (packaging/windows/bridged.wxs)
#   bridged_<v>_windows_amd64.zip   the Windows bundle: exe, bridged.yaml, install.md
#   bridged_<v>-1_<arch>.deb, bridged-<v>-1.<arch>.rpm   for amd64 and arm64
#   SHA256SUMS
# The same commit gives byte-identical files: static (CGO_ENABLED=0), -trimpath,
# no build id and no VCS stamp in the binaries, version and commit set by
# -ldflags, and the commit time (SOURCE_DATE_EPOCH) as every timestamp in the
# packages and the zip. .ci/packaging.sh builds twice and compares. The MSI is
# the exception: wixl stamps its summary with the build time and a random
# package code; its tables and files are the same (.ci/packaging.sh compares
# those).
#
# Signing: `make release SIGN_PKCS12=cert.p12 [SIGN_PASSWORD_FILE=pass.txt]
# [SIGN_TIMESTAMP_URL=http://...]` Authenticode-signs bridged.exe (before it
# goes into the MSI and the zip) and the MSI with osslsigncode, and stamps
# the exe `signed: yes` (bridged version); without SIGN_PKCS12 nothing is
# signed and bridged version says `signed: no`. A signed build is not
# reproducible (the signature holds its time).
#
# Tools: Go; nfpm for the packages (NFPM=path; .ci/packaging.sh installs a
# pinned one); zip; wixl and msibuild for the MSI (Debian: wixl, msitools);
# osslsigncode to sign. `make docker` needs a Docker engine.

GO      ?= go
NFPM    ?= nfpm
DIST    ?= dist
OUT     ?= bridged
VERSION ?= $(shell git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null || echo v0.0.0-dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
export SOURCE_DATE_EPOCH

WIXL        ?= wixl
MSIBUILD    ?= msibuild
OSSLSIGNCODE ?= osslsigncode
SIGN_PKCS12        ?=
SIGN_PASSWORD_FILE ?=
SIGN_TIMESTAMP_URL ?=

PKG_VERSION  := $(patsubst v%,%,$(VERSION))
LDFLAGS      := -s -w -buildid= -X main.version=$(VERSION) -X main.commit=$(COMMIT)
GOBUILD      := CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=false -ldflags '$(LDFLAGS)'
WINDOWS_LDFLAGS := $(LDFLAGS)$(if $(SIGN_PKCS12), -X main.signed=yes)
LINUX_ARCHES := amd64 arm64
WINDOWS_EXE  := $(DIST)/bridged_$(PKG_VERSION)_windows_amd64.exe
WINDOWS_ZIP  := $(DIST)/bridged_$(PKG_VERSION)_windows_amd64.zip
WINDOWS_MSI  := $(DIST)/bridged_$(PKG_VERSION)_windows_amd64.msi
BINARIES     := $(foreach a,$(LINUX_ARCHES),$(DIST)/bridged_$(PKG_VERSION)_linux_$(a)) $(WINDOWS_EXE)

# The MSI: its version is x.y.z from VERSION (v1.2.3-4-gabc -> 1.2.3, a dev
# build 0.0.0) unless given; MSI_EXE is the program it packages (CI packages
# a Wine test build with it). Its ProductCode follows from version and
# commit: the same build gives the same code, every other build another, so
# each one upgrades the installed one (see the Upgrade fix-up below).
# The UpgradeCode names bridged across all versions: never change it.
MSI_UPGRADE_CODE := 6B1A0D2E-7C3F-4E5A-9B8C-1D2E3F4A5B6C
MSI_UNSIGNED = $(if $(SIGN_PKCS12),.unsigned)
MSI_VERSION ?= $(or $(shell printf '%s\n' '$(PKG_VERSION)' | grep -oE '^[0-9]+\.[0-9]+\.[0-9]+'),0.0.0)
MSI_EXE     ?= $(WINDOWS_EXE)
MSI_PRODUCT_CODE = $(shell printf 'bridged msi %s %s %s' '$(MSI_VERSION)' '$(VERSION)' '$(COMMIT)' | sha256sum | cut -c1-32 | tr a-f A-F | \
	sed -E 's/^(.{8})(.{4}).(.{3}).(.{3})(.{12})$$/\1-\2-5\3-8\4-\5/')

# $(call sign,IN,OUT): Authenticode-sign a PE or MSI file with osslsigncode.
sign = $(OSSLSIGNCODE) sign -pkcs12 '$(SIGN_PKCS12)' $(if $(SIGN_PASSWORD_FILE),-readpass '$(SIGN_PASSWORD_FILE)') \
	-h sha256 -n 'bridged payment bridge' $(if $(SIGN_TIMESTAMP_URL),-ts '$(SIGN_TIMESTAMP_URL)') -in $(1) -out $(2) >/dev/null

.PHONY: build release binaries packages windows windows-bundle msi checksums docker fuzz clean FORCE
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
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=false -ldflags '$(WINDOWS_LDFLAGS)' \
	  -o $@$(if $(SIGN_PKCS12),.unsigned) ./cmd/bridged
ifneq ($(SIGN_PKCS12),)
	$(call sign,$@.unsigned,$@) && rm -f $@.unsigned
endif

packages: binaries
	@for arch in $(LINUX_ARCHES); do for fmt in deb rpm; do \
	  echo "nfpm $$fmt $$arch"; \
	  ARCH=$$arch PKG_VERSION=$(PKG_VERSION) BRIDGED_BIN=$(DIST)/bridged_$(PKG_VERSION)_linux_$$arch \
	  BRIDGED_YAML=configs/bridged.example.yaml \
	  $(NFPM) package --config packaging/nfpm.yaml --packager $$fmt --target $(DIST)/ >/dev/null || exit 1; \
	done; done

# Everything for Windows: the exe, the MSI and the zip (what `make release`
# builds for Windows, and signs with SIGN_PKCS12).
windows: $(WINDOWS_EXE) $(WINDOWS_MSI) $(WINDOWS_ZIP)

# The Windows bundle for a by-hand install (bridged.exe install): see docs/install.md.
windows-bundle: $(WINDOWS_ZIP)

$(WINDOWS_ZIP): $(WINDOWS_EXE) packaging/windows/bridged-yaml.sed configs/bridged.example.yaml docs/install.md
	rm -rf $(DIST)/.stage $@ && mkdir -p $(DIST)/.stage/bridged
	cp $(WINDOWS_EXE) $(DIST)/.stage/bridged/bridged.exe
	cp docs/install.md $(DIST)/.stage/bridged/
	sed -f packaging/windows/bridged-yaml.sed configs/bridged.example.yaml > $(DIST)/.stage/bridged/bridged.yaml
	grep -q "^data_dir: 'C:" $(DIST)/.stage/bridged/bridged.yaml
	grep -q "^  file: 'C:" $(DIST)/.stage/bridged/bridged.yaml
	chmod 0755 $(DIST)/.stage/bridged && chmod 0644 $(DIST)/.stage/bridged/*
	find $(DIST)/.stage -exec touch -h -d @$(SOURCE_DATE_EPOCH) {} +
	cd $(DIST)/.stage && TZ=UTC zip -X -D -q ../$(notdir $@) \
	  bridged/bridged.exe bridged/bridged.yaml bridged/install.md
	rm -rf $(DIST)/.stage

# The MSI (packaging/windows/bridged.wxs), then what wixl 0.101 cannot write,
# fixed in its tables with msibuild: EventMessageFile as REG_EXPAND_SZ (#%),
# CONFIG and LISTEN as secure properties (passed to the deferred custom
# action), and VersionMaxInclusive on the upgrade row (a rebuild of the same
# version replaces the installed one instead of installing beside it).
msi: $(WINDOWS_MSI)

$(WINDOWS_MSI): $(MSI_EXE) packaging/windows/bridged.wxs packaging/windows/bridged-yaml.sed configs/bridged.example.yaml docs/install.md
	@printf '%s\n' '$(MSI_VERSION)' | grep -qE '^([0-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-5])\.([0-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-5])\.[0-9]{1,5}$$' || \
	  { echo "MSI_VERSION $(MSI_VERSION): want x.y.z, x and y up to 255" >&2; exit 1; }
	rm -rf $@.stage $@ && mkdir -p $@.stage
	cp $(MSI_EXE) $@.stage/bridged.exe
	cp docs/install.md $@.stage/install.md
	cp packaging/windows/bridged.wxs $@.stage/bridged.wxs
	sed -f packaging/windows/bridged-yaml.sed configs/bridged.example.yaml > $@.stage/bridged.example.yaml
	chmod 0644 $@.stage/* && find $@.stage -exec touch -h -d @$(SOURCE_DATE_EPOCH) {} +
	$(WIXL) -a x64 -D MsiVersion=$(MSI_VERSION) -D ProductCode=$(MSI_PRODUCT_CODE) -D UpgradeCode=$(MSI_UPGRADE_CODE) \
	  -o $@$(MSI_UNSIGNED) $@.stage/bridged.wxs 2>$@.wixl.log || { cat $@.wixl.log >&2; exit 1; }
	$(MSIBUILD) $@$(MSI_UNSIGNED) -q "UPDATE \`Registry\` SET \`Value\` = '#%%SystemRoot%\\System32\\EventCreate.exe' WHERE \`Name\` = 'EventMessageFile'"
	$(MSIBUILD) $@$(MSI_UNSIGNED) -q "UPDATE \`Property\` SET \`Value\` = 'WIX_DOWNGRADE_DETECTED;WIX_UPGRADE_DETECTED;CONFIG;LISTEN' WHERE \`Property\` = 'SecureCustomProperties'"
	$(MSIBUILD) $@$(MSI_UNSIGNED) -q "DELETE FROM \`Upgrade\` WHERE \`ActionProperty\` = 'WIX_UPGRADE_DETECTED'"
	$(MSIBUILD) $@$(MSI_UNSIGNED) -q "INSERT INTO \`Upgrade\` (\`UpgradeCode\`, \`VersionMax\`, \`Attributes\`, \`ActionProperty\`) \
	  VALUES ('{$(MSI_UPGRADE_CODE)}', '$(MSI_VERSION)', 513, 'WIX_UPGRADE_DETECTED')"
ifneq ($(SIGN_PKCS12),)
	$(call sign,$@.unsigned,$@) && rm -f $@.unsigned
endif
	rm -rf $@.stage $@.wixl.log

checksums: binaries packages windows-bundle msi
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
