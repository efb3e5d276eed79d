// Package packaging makes wotmq installable without Go: its directory has
// what the Debian package is made of (make package runs package.sh,
// which builds a static binary and runs nfpm on nfpm.yaml), and the
// package writes the OCI image (WriteImage; make image). Its tests build
// both: the package is unpacked into a scratch root and the packaged
// binary run with the packaged config until it serves.
//
// # Files
//
//   - nfpm.yaml: what goes where (/usr/bin/wotmq, the unit, the config,
//     the docs and the dashboard and alert rules as examples).
//   - wotmq.service: the systemd unit, hardened: its own user,
//     StateDirectory=wotmq, ProtectSystem=strict, NoNewPrivileges, no
//     capabilities, restart on failure.
//   - wotmq.toml: /etc/wotmq/wotmq.toml, every setting commented out at its
//     default; generated from the serve flags (cmd/wotmq
//     TestPackagedConfig), so it cannot drift from them.
//   - postinst.sh, prerm.sh, postrm.sh: the user, the config's owner, the
//     service.
//   - image.go: the OCI image, built from scratch without a runtime;
//     ociimage/ is its command.
package packaging
