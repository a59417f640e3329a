# bench/workdir.sh, sourced by the peers-*.sh benchmarks (POSIX sh; they
# set root to the repository first).
#
# workdir NAME KB: sets work to a new folder for NAME, in /dev/shm when it
# has more than KB kilobytes free (files in memory: the disk does not
# weigh on the figures), else in TMPDIR or /tmp; it sets base to the
# folder it is in and removes it on exit.
workdir() {
	base=${TMPDIR:-/tmp}
	if [ -d /dev/shm ] && [ -w /dev/shm ] &&
		[ "$(df -Pk /dev/shm | awk 'NR==2 {print $4}')" -gt "$2" ]; then
		base=/dev/shm
	fi
	work=$(mktemp -d "$base/hdw-$1.XXXXXX")
	trap 'rm -rf "$work"' EXIT
}

# benchbin CMD [PREBUILT]: puts bench/cmd/CMD in $work/CMD, copied from
# PREBUILT when it is given, else built.
benchbin() {
	if [ -n "${2:-}" ]; then
		cp "$2" "$work/$1"
	else
		(cd "$root" && go build -o "$work/$1" "./bench/cmd/$1")
	fi
}
