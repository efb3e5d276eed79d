#!/bin/sh
# postrm of the wotmq Debian package. The data directory /var/lib/wotmq and
# the user wotmq stay, even on purge: the store holds every account, TD,
# history and request, and is removed only by hand.
set -e
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null || true
fi
if [ "$1" = purge ] && [ -d /var/lib/wotmq ]; then
	echo "wotmq: the data directory /var/lib/wotmq was kept; remove it by hand when you no longer need it."
fi
exit 0
