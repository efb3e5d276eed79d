#!/bin/sh
# package.sh builds the Debian package of wotmq into OUT (default dist/):
# a static binary (CGO_ENABLED=0) for ARCH (default: this machine's), then
# nfpm, run as a tool at a fixed version with go run (no dependency of the
# module). The package version comes from the binary's build information:
# a tag v1.2.0 gives 1.2.0, a pseudo-version v0.0.0-20261207031654-5ad0c834ea5b
# gives 0.0.0~20261207031654-5ad0c834ea5b (a pre-release sorts before the
# release). VERSION overrides it for a build without VCS.
# Run from the repository's root: make package.
set -eu

GO=${GO:-go}
NFPM=${NFPM:-github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2}
OUT=${OUT:-dist}
ARCH=${ARCH:-$($GO env GOARCH)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
STAGE="$OUT/stage"
rm -rf "$STAGE"
mkdir -p "$STAGE/bin" "$STAGE/packaging" "$STAGE/docs" "$STAGE/deploy"

CGO_ENABLED=0 GOOS=linux GOARCH="$ARCH" $GO build -buildvcs=auto -trimpath \
	-ldflags "-s -w${VERSION:+ -X main.version=$VERSION}" -o "$STAGE/bin/wotmq" ./cmd/wotmq

mod=$($GO version -m "$STAGE/bin/wotmq" | awk '$1 == "mod" { print $3; exit }')
case "${VERSION:-$mod}" in
"(devel)" | "") pkgv="0.0.0~dev" ;;
*) pkgv=$(echo "${VERSION:-$mod}" | sed -e 's/^v//' -e 's/-/~/' -e 's/+/./g') ;;
esac

# nfpm reads its sources relative to where it runs: a copy of what the
# package holds, laid out as in the repository.
cp packaging/nfpm.yaml packaging/wotmq.service packaging/wotmq.toml packaging/*.sh "$STAGE/packaging/"
cp docs/operations.md docs/security.md "$STAGE/docs/"
cp -R deploy/grafana deploy/prometheus "$STAGE/deploy/"
(cd "$STAGE" && VERSION="$pkgv" ARCH="$ARCH" $GO run "$NFPM" package \
	--config packaging/nfpm.yaml --packager deb --target "$OUT/")
rm -rf "$STAGE"
