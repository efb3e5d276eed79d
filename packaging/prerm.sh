#!/bin/sh
# prerm of the wotmq Debian package: stop the hub before its files go (on
# upgrade, postinst restarts it).
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
	systemctl stop wotmq.service || true
	systemctl disable wotmq.service >/dev/null || true
fi
exit 0
