#!/usr/bin/env bash
# Builds the demo's three service images with Docker, offline: a base image from the host's
# static busybox, then one image per service whose steps take a while the first time. Started
# from a golden, every image is there already and every step comes out CACHED.
set -euo pipefail

bold=$'\e[1m' blue=$'\e[34m' green=$'\e[32m' dim=$'\e[2m' reset=$'\e[0m'

echo "${bold}Building images for the demo project${reset}"

if ! docker info >/dev/null 2>&1; then
  # No daemon to build with: write the layers a build would, so the cache still has something
  # to keep and to copy.
  docker_dir="${HELIX_DOCKER_DATA_ROOT:?}"
  echo "${dim}No Docker daemon here: writing the images' layers into ${docker_dir} instead${reset}"
  for service_dir in services/*/; do
    service=$(basename "$service_dir")
    layers="$docker_dir/overlay2/demo-$service"
    mkdir -p "$layers"
    echo "${blue}[+] Building ${service}${reset}"
    step=0
    while IFS= read -r instruction; do
      step=$((step + 1))
      if [ -f "$layers/layer-$step.tar" ]; then
        echo " => [${service} ${step}] ${instruction} ${dim}CACHED${reset}"
        continue
      fi
      sleep 1
      head -c $((24 * 1024 * 1024)) /dev/urandom > "$layers/layer-$step.tar"
      echo " => [${service} ${step}] ${instruction}"
    done < "$service_dir/Dockerfile"
  done
  echo "${green}${bold}All images built.${reset}"
  exit 0
fi

export DOCKER_BUILDKIT=1
# BuildKit's plain progress, less the lines only a machine reads (digests, internal steps).
build() {
  docker build --progress=plain --network=none "$@" 2>&1 |
    sed -u -E '/^#[0-9]+ (sha256:|\[internal\]|transferring|exporting|writing image|naming to|DONE 0\.0s)/d'
}
# No registry is reachable: the base image is the host's static busybox, FROM scratch.
base=$(mktemp -d)
trap 'rm -rf "$base"' EXIT
cp /bin/busybox "$base/busybox"
printf 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\n' > "$base/Dockerfile"
echo "${blue}[+] Building the base image${reset}"
build --tag demo-base:1 "$base"

for service_dir in services/*/; do
  service=$(basename "$service_dir")
  echo "${blue}[+] Building ${service}${reset}"
  build --tag "demo-${service}:latest" "$service_dir"
  echo "${green} ✔ ${service} built${reset}"
done

docker images --filter 'reference=demo-*'
echo "${green}${bold}All images built.${reset}"
