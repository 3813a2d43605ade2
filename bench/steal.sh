# bench/steal.sh – sourced by bench/run.sh, bench/agent and bench/rules (POSIX
# sh): the host's steal, the time the hypervisor ran something else while this
# guest's virtual CPUs had work (/proc/stat, "steal"). A host busy with other
# guests shows here, and in every figure taken in the same minutes.

steal_hz=$(getconf CLK_TCK)
steal_ncpu=$(nproc)

# steal: the stolen clock ticks so far, all CPUs together
steal() { awk '$1 == "cpu" { print $9; exit }' /proc/stat; }

# steal_pct TICKS WALL_NS: TICKS stolen over WALL_NS, as % of the guest's CPU time
steal_pct() {
	awk -v s="$1" -v w="$2" -v hz="$steal_hz" -v n="$steal_ncpu" \
		'BEGIN { printf "%.1f", (w > 0 ? 100 * s / hz / (w / 1e9) / n : 0) }'
}
