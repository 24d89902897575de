#!/usr/bin/env bash
# Builds the demo's three service images into the Docker data
# directory, one layer per Dockerfile step, the way a real
# `docker compose build` fills /var/lib/docker.
set -euo pipefail

docker_dir="${HELIX_DOCKER_DATA_ROOT:-/var/lib/docker}"
bold=$'\e[1m' blue=$'\e[34m' green=$'\e[32m' dim=$'\e[2m' reset=$'\e[0m'

echo "${bold}Building images for the demo project${reset}"
[ "${HELIX_GOLDEN_BUILD:-}" = true ] && echo "${dim}(golden build: writing into ${docker_dir})${reset}"

for service_dir in services/*/; do
  service=$(basename "$service_dir")
  layers="$docker_dir/overlay2/demo-$service"
  mkdir -p "$layers"
  echo "${blue}[+] Building ${service}${reset}"
  step=0
  steps=$(grep -c . "$service_dir/Dockerfile")
  while IFS= read -r instruction; do
    step=$((step + 1))
    if [ -f "$layers/layer-$step.tar" ]; then
      echo " => [${service} ${step}/${steps}] ${instruction} ${dim}CACHED${reset}"
      continue
    fi
    sleep 1
    head -c $((24 * 1024 * 1024)) /dev/urandom > "$layers/layer-$step.tar"
    echo " => [${service} ${step}/${steps}] ${instruction} ${dim}24 MB${reset}"
  done < "$service_dir/Dockerfile"
  echo "${green} ✔ ${service} built${reset}"
done

echo "${green}${bold}All images built.${reset}"
