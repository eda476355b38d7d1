package cli

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/model"
	"github.com/tabaudit/tabaudit/model/modeltest"
)

var updateExplain = flag.Bool("update-explain", false, "rewrite testdata/explain/*.golden")

// TestExplainGolden builds a model database from testdata/explain/site.yaml
// with modeltest, runs `tabaudit explain` in-process for each case and
// compares stdout+stderr and the exit code with testdata/explain/<case>.golden.
func TestExplainGolden(t *testing.T) {
	ctx := context.Background()
	s, err := site.Load(filepath.Join("testdata", "explain", "site.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(t.TempDir(), "audit.duckdb")
	db, err := model.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := modeltest.Load(ctx, db, s); err != nil {
		db.Close()
		t.Fatal(err)
	}
	db.Close()
	cases := []struct {
		name string
		args []string
	}{
		// The lock guard: a group-set Allow for Set Permissions is inert.
		{"locked-changepermissions", []string{"--user", "eve@example.com", "--item", "Finance/Reports/Quarterly", "--capability", "ChangePermissions"}},
		// The ceiling first: ana (Explorer) by an email in another case.
		{"ceiling", []string{"--user", "ana@example.com", "--item", "Finance/Reports/Quarterly", "--capability", "Write"}},
		// Every capability of a view, by path.
		{"view-all", []string{"--user", "ana", "--item", "Finance/Reports/Quarterly/Summary"}},
		// Independent view permissions and VIEW_WITHOUT_WORKBOOK_READ.
		{"view-own-rules", []string{"--user", "dee", "--item", "Spend", "--capability", "Read"}},
		// A group leader on the parent project, by name and type.
		{"leader", []string{"--user", "ben", "--item", "Reports", "--type", "project", "--capability", "Write"}},
		// Projected basis: cy is Unlicensed today.
		{"projected", []string{"--user", "cy", "--item", "Campaigns", "--capability", "Read", "--basis", "projected"}},
		{"current-unlicensed", []string{"--user", "cy", "--item", "Campaigns", "--capability", "Read"}},
		// A user LUID and an unknown capability.
		{"not-applicable", []string{"--user", site.LUID("user", "ana"), "--item", "Summary", "--capability", "Write"}},
		// Input errors: ambiguous item and user, unknown user, bad basis.
		{"ambiguous-item", []string{"--user", "ben", "--item", "Quarterly"}},
		{"ambiguous-user", []string{"--user", "ANA", "--item", "Campaigns"}},
		{"unknown-user", []string{"--user", "nobody", "--item", "Campaigns"}},
		{"bad-basis", []string{"--user", "ben", "--item", "Campaigns", "--basis", "future"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			f := &Factory{IO: IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &out}, Now: time.Now,
				Getenv: func(string) string { return "" }, Version: "test"}
			code := RunWith(ctx, f, append([]string{"explain", "--db", dbPath}, tc.args...))
			got := strings.ReplaceAll(out.String(), dbPath, "$DB")
			got = "exit " + string(rune('0'+code)) + "\n" + got
			file := filepath.Join("testdata", "explain", tc.name+".golden")
			if *updateExplain {
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run with -update-explain)", err)
			}
			if d := cmp.Diff(string(want), got); d != "" {
				t.Errorf("explain %s (-want +got):\n%s", strings.Join(tc.args, " "), d)
			}
		})
	}
}
