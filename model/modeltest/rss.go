package modeltest

import (
	"os"
	"strings"
)

// PeakRSS is the process's peak resident set (VmHWM from /proc), as the
// scale runs print it; "?" where /proc is not available. It includes
// whatever else the process did (site generation, Go heap) besides DuckDB.
func PeakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}
