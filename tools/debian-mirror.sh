#!/bin/sh
# Prints the Debian mirror this machine's apt installs SUITE (default
# bookworm) from, as apt's own sources say: /etc/apt/sources.list and
# /etc/apt/sources.list.d/*.list (one-line format), *.sources (deb822). The
# repository names no host: whatever apt uses here, debootstrap uses too.
set -eu

suite=${1:-bookworm}
dir=${APT_SOURCES_DIR:-/etc/apt}

# One line per usable source: "<uri> <suite>...". One-line entries drop their
# [options]; deb822 stanzas join URIs and Suites, and skip Enabled: no.
sources() {
	for f in "$dir/sources.list" "$dir"/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" |
			awk '$1 == "deb" && NF >= 3 { uri = $2; $1 = $2 = ""; print uri, $0 }'
	done
	for f in "$dir"/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk '
		function flush() {
			if (types ~ /(^| )deb( |$)/ && enabled != "no" && uri != "")
				print uri, suites
			types = uri = suites = ""; enabled = "yes"
		}
		BEGIN { enabled = "yes" }
		/^[ \t]*#/ { next }
		/^[ \t]*$/ { flush(); next }
		{
			key = tolower($1); sub(/:$/, "", key); $1 = ""; sub(/^ +/, "")
			if (key == "types") types = $0
			else if (key == "uris") { split($0, u, " "); uri = u[1] }
			else if (key == "suites") suites = $0
			else if (key == "enabled") enabled = tolower($0)
		}
		END { flush() }' "$f"
	done
}

mirror=$(sources | awk -v s="$suite" '
	$1 ~ /^(https?|file):/ { for (i = 2; i <= NF; i++) if ($i == s) { print $1; exit } }')
if [ -z "$mirror" ]; then
	echo "debian-mirror: no deb source for $suite in $dir/sources.list or $dir/sources.list.d/" >&2
	exit 1
fi
echo "$mirror"
