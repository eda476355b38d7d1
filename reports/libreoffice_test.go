package reports

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestLibreOfficeOpensWorkbook converts the workbook with LibreOffice,
// headless, into one CSV per sheet: a workbook LibreOffice had to repair, or
// could not read, fails the conversion or loses the Findings rows.
func TestLibreOfficeOpensWorkbook(t *testing.T) {
	soffice, err := exec.LookPath("soffice")
	if err != nil {
		t.Skip("soffice (LibreOffice) is not installed: skipping the open-in-LibreOffice check; .ci/run installs it")
	}
	if testing.Short() {
		t.Skip("-short: skipping the LibreOffice conversion")
	}
	_, dir := writeReport(t, true, nil)
	out := t.TempDir()
	profile := t.TempDir() // private profile: parallel runs must not share one
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, soffice, "--headless", "--norestore", "-env:UserInstallation=file://"+profile,
		"--convert-to", `csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1`,
		"--outdir", out, filepath.Join(dir, "report.xlsx"))
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("soffice: %v\n%s", err, stderr.String())
	}
	files, _ := filepath.Glob(filepath.Join(out, "*.csv"))
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	findings := filepath.Join(out, "report-Findings.csv")
	if !slices.Contains(names, "report-Findings.csv") || !slices.Contains(names, "report-Summary.csv") {
		t.Fatalf("LibreOffice wrote %q; want one CSV per sheet incl. Findings and Summary\n%s", names, stderr.String())
	}
	recs := readCSV(t, findings)
	if len(recs) != 10 {
		t.Fatalf("Findings has %d rows after LibreOffice, want header + 9", len(recs))
	}
	if recs[0][0] != "Severity" || recs[1][0] != "critical" || recs[1][3] != "no-downloads" || recs[1][7] != "Budget" {
		t.Errorf("Findings rows after LibreOffice: %q / %q", recs[0], recs[1])
	}
	// The hostile names survive as text: LibreOffice did not evaluate them.
	var users []string
	for _, r := range recs[1:] {
		users = append(users, r[5])
	}
	for _, h := range hostile {
		if !slices.Contains(users, h) && !slices.Contains(users, strings.TrimLeft(h, "\r")) {
			t.Errorf("user %q did not survive LibreOffice; users: %q", h, users)
		}
	}
	summary, err := os.ReadFile(filepath.Join(out, "report-Summary.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(summary, []byte("acme/20260101T000000Z")) {
		t.Errorf("Summary after LibreOffice lacks the snapshot id:\n%s", summary)
	}
}
