#!/usr/bin/env bash
# Installs what bookrec needs and is missing: Debian packages and the pretrained encoder weights.
# Further Debian packages to install may be named as arguments (the tests' browser).
# Safe to run again: it only does what is not done yet.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

packages=(librabbitmq-dev libsqlite3-dev libpq-dev libopenblas0 libjpeg62-turbo-dev libpng-dev rabbitmq-server "$@")
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    sudo_cmd=""
    [[ $(id -u) -eq 0 ]] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ -x "$root/scripts/fetch-models.sh" ]]; then
    "$root/scripts/fetch-models.sh"
fi
