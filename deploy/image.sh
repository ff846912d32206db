#!/usr/bin/env bash
# Builds the container image lamport-sim:latest (or TAG) from this checkout
# without pulling anything: a static musl build of the release binary, copied
# into an image `FROM scratch`. Needs cargo, the x86_64-unknown-linux-musl
# target (added with rustup if missing) and a running Docker engine.
#
#   deploy/image.sh [TAG]
#   docker run --rm lamport-sim:latest --version
#
# The image holds one file, /lamport-sim, its ENTRYPOINT: the engines give it
# `vm ...` as arguments (see `lamport-sim deploy --help`). Machines that reach
# a registry can use deploy/Dockerfile instead, the conventional multi-stage
# build; both give the same image contents.
set -euo pipefail
cd "$(dirname "$0")/.."

tag=${1:-lamport-sim:latest}
target=x86_64-unknown-linux-musl

if ! rustup target list --installed | grep -qx "$target"; then
    echo "image: adding the $target target"
    rustup target add "$target"
fi
# Where cargo put the binary (CARGO_TARGET_DIR or a config may move it).
bin=$(cargo build --release --locked --target "$target" --bin lamport-sim \
    --message-format=json-render-diagnostics |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
    echo "image: cargo named no lamport-sim binary" >&2
    exit 1
fi

# Static or it would not start in an empty image.
if command -v file >/dev/null 2>&1 && ! file "$bin" | grep -q 'statically linked\|static-pie linked'; then
    echo "image: $bin is not statically linked" >&2
    exit 1
fi

# A context of two files, so nothing else of the checkout is sent to Docker.
stage=$(mktemp -d "${TMPDIR:-/tmp}/lamport-sim-image.XXXXXX")
trap 'rm -rf "$stage"' EXIT
cp "$bin" "$stage/lamport-sim"
cat >"$stage/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY lamport-sim /lamport-sim
ENTRYPOINT ["/lamport-sim"]
DOCKERFILE

docker build --quiet --tag "$tag" "$stage" >/dev/null
echo "image: built $tag ($(docker run --rm "$tag" --version))"
