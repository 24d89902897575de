// A startup script whose Docker data holds everything that makes overlay2 hard to copy: files
// deleted in a later layer (whiteouts), a directory removed and made again (opaque), hard links,
// symlinks, a sparse file, setuid and mode-000 files, a named volume written by a container, a
// stopped container and a BuildKit cache mount. Built from the host's static busybox alone.
export const dockerfile = [
  "FROM fidelity-base:1",
  // Hard link, symlink, sparse file, setuid and mode-000 files.
  "RUN mkdir -p /opt/d /opt/keep && echo a > /opt/d/a && echo b > /opt/d/b && ln /opt/keep/../d/a /opt/keep/hard" +
    " && ln -s /opt/d/a /opt/keep/sym && dd if=/dev/zero of=/opt/keep/sparse bs=1 count=1 seek=10485760 2>/dev/null" +
    " && cp /bin/busybox /opt/keep/suid && chmod 4755 /opt/keep/suid && echo secret > /opt/keep/zero && chmod 000 /opt/keep/zero",
  // A whiteout: deleted in a later layer.
  "RUN rm /opt/d/b",
  // An opaque directory: removed and made again.
  "RUN rm -r /opt/d && mkdir /opt/d && echo fresh > /opt/d/c",
  // A BuildKit cache mount.
  "RUN --mount=type=cache,target=/cache echo cached > /cache/x && cp /cache/x /opt/from-cache",
  'CMD ["cat", "/opt/d/c"]',
  "",
].join("\n");

export const buildScript = [
  "set -e",
  "export DOCKER_BUILDKIT=1",
  "mkdir -p base app && cp /bin/busybox base/",
  'printf \'FROM scratch\\nCOPY busybox /bin/busybox\\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\\n\' > base/Dockerfile',
  "docker build --progress=plain --network=none -t fidelity-base:1 base",
  `cat > app/Dockerfile <<'DOCKERFILE'\n${dockerfile}DOCKERFILE`,
  "docker build --progress=plain --network=none -t fidelity:1 app",
  "docker run --network=none -v kept:/data --name stopped fidelity:1 sh -c 'echo in-the-volume > /data/file'",
].join("\n");
