package eval

import (
	"path/filepath"
	"testing"
)

// TestCases runs the semantics cases under testdata/cases: one file per
// spec area (§8.2 consequences, §6.2 roles, §7 ACL resolution, §9
// populations, §10 quirks), in the vectors' format.
func TestCases(t *testing.T) {
	files, err := filepath.Glob("testdata/cases/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no case files: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) { runVectors(t, loadVectors(t, file)) })
	}
}
