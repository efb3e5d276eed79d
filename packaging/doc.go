// Package packaging holds no code: its directory has what the Debian
// package of wotmq is made of (make package runs package.sh, which builds
// a static binary and runs nfpm on nfpm.yaml), and its test builds the
// package, unpacks it into a scratch root and runs the packaged binary
// with the packaged config.
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
//   - image.go: the OCI image, built from scratch (see that file).
package packaging
