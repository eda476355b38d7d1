package rules

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var update = flag.Bool("update", false, "rewrite golden files and generated examples")

// TestExamples keeps examples/matrix.csv and matrix.xlsx the tabular forms
// of examples/matrix.yaml: every form loads to the same rules, waivers and
// hygiene settings (positions aside). -update regenerates them.
func TestExamples(t *testing.T) {
	dir := filepath.Join("..", "examples")
	y, err := Load(filepath.Join(dir, "matrix.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		var rules, waivers, hyg, x bytes.Buffer
		if err := WriteCSV(y, &rules, &waivers, &hyg); err != nil {
			t.Fatal(err)
		}
		if err := WriteXLSX(y, &x); err != nil {
			t.Fatal(err)
		}
		for name, b := range map[string][]byte{"matrix.csv": rules.Bytes(), "matrix.waivers.csv": waivers.Bytes(),
			"matrix.hygiene.csv": hyg.Bytes(), "matrix.xlsx": x.Bytes()} {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, name := range []string{"matrix.csv", "matrix.xlsx"} {
		m, err := Load(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := cmp.Diff(y, m, matrixCmp...); diff != "" {
			t.Errorf("%s differs from matrix.yaml (-yaml +%s):\n%s", name, name, diff)
		}
	}
}

// matrixCmp compares matrices by content: positions, file names and
// digests differ between forms by design.
var matrixCmp = []cmp.Option{
	cmpopts.IgnoreFields(Matrix{}, "File", "SHA256", "Name", "Warnings"),
	cmpopts.IgnoreFields(Rule{}, "Pos", "fieldPos", "Comment"),
	cmpopts.IgnoreFields(Grantee{}, "Pos"),
	cmpopts.IgnoreFields(Waiver{}, "Pos"),
	cmpopts.IgnoreFields(HygieneSetting{}, "Pos"),
	cmpopts.EquateEmpty(),
}
