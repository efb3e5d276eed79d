#!/bin/sh
# postinst of the wotmq Debian package: the system user, the config file's
# owner, and the service.
set -e

if [ "$1" = configure ]; then
	if ! getent passwd wotmq >/dev/null; then
		adduser --system --group --home /var/lib/wotmq --no-create-home \
			--gecos "wotmq hub" --quiet wotmq
	fi
	# The config may name secrets' files: readable by root and the hub only.
	chown root:wotmq /etc/wotmq/wotmq.toml
	chmod 0640 /etc/wotmq/wotmq.toml
	if [ -d /run/systemd/system ]; then
		systemctl daemon-reload >/dev/null || true
		if [ -z "$2" ]; then
			systemctl enable wotmq.service >/dev/null || true
			systemctl start wotmq.service || true
			echo "wotmq: started; the first admin password is in /var/lib/wotmq/initial-admin-password (root only)."
			echo "wotmq: settings in /etc/wotmq/wotmq.toml, then: systemctl restart wotmq"
		else
			systemctl try-restart wotmq.service || true
		fi
	fi
fi
exit 0
