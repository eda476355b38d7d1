//go:build large

package reports

// Large-scale runs, kept out of the default test run:
//
//	go test -tags large -run Large -v ./reports/
//
// TestLargeFindings writes a report of 1,000,000 findings in every format
// and checks the budget of the issue: at most 60 s and 1 GiB peak RSS.

import (
	"context"
	"database/sql"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/model"
	"github.com/tabaudit/tabaudit/model/modeltest"
)

// peakRSS reads the process's high-water resident set (VmHWM) in bytes.
func peakRSS(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status: cannot measure RSS")
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n * 1024
		}
	}
	return 0
}

func TestLargeFindings(t *testing.T) {
	const n = 1_000_000
	db := openDB(t)
	buildFixture(t, db, true)
	start := time.Now()
	execAll(t, db, `DELETE FROM findings`,
		`INSERT INTO findings SELECT 'f-' || i, CASE i % 5 WHEN 0 THEN 'forbidden' ELSE 'excess' END, NULL,
		  'rule-' || (i % 40), ['critical', 'high', 'medium', 'low', 'info'][1 + i % 5], CASE WHEN i % 11 = 0 THEN 'needs_review' ELSE 'violation' END,
		  'user-' || (i % 50000), 'user' || (i % 50000) || '@example.com', 'workbook', 'wb-' || (i % 20000),
		  'Workbook number ' || (i % 20000), 'Division ' || (i % 30) || '/Team ' || (i % 300), 'ExportData', 'allow', 'GROUP_ALLOW',
		  'workbook:wb-' || (i % 20000) || ' group:g-' || (i % 3000) || ' Allow', NULL, NULL, 'D', 'c' || (i % 40),
		  'holds ExportData not granted by the matrix', 'acme/20260101T000000Z', 'policy.yaml', 10 + i % 40
		  FROM range(`+strconv.Itoa(n)+`) t(i)`)
	t.Logf("fixture: %d findings in %v", n, time.Since(start).Round(time.Millisecond))
	// Like the CLI: the model is a file, opened read-only; the report process
	// holds only what DuckDB's buffer manager and the writers need.
	dir := t.TempDir()
	file := filepath.Join(dir, "big.duckdb")
	execAll(t, db, "ATTACH '"+file+"' AS big", "COPY FROM DATABASE memory TO big", "DETACH big")
	db.Close()
	db, err := sql.Open("duckdb", file+"?access_mode=READ_ONLY&autoinstall_known_extensions=false&autoload_known_extensions=false")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	limit := os.Getenv("LARGE_DUCKDB_MEMORY")
	if limit == "" {
		limit = "512MB"
	}
	execAll(t, db, "SET memory_limit = '"+limit+"'")
	t.Logf("DuckDB memory_limit %s", limit)
	// Reset the high-water mark so the fixture's build does not count.
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Logf("cannot reset VmHWM (%v): peak includes the fixture", err)
	}
	before := peakRSS(t)
	start = time.Now()
	formats := []string{"xlsx", "csv", "json", "md"}
	if f := os.Getenv("LARGE_FORMATS"); f != "" {
		formats = strings.Split(f, ",")
	}
	res, err := Write(context.Background(), db, Options{Out: filepath.Join(dir, "big.xlsx"), Formats: formats, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	peak := peakRSS(t)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("Go heap: sys %d MiB, heap sys %d MiB, total alloc %d MiB, GCs %d", ms.Sys>>20, ms.HeapSys>>20, ms.TotalAlloc>>20, ms.NumGC)
	for _, p := range res.Files {
		if st, err := os.Stat(p); err == nil && st.Size() > 1<<20 {
			t.Logf("%s: %.1f MiB", filepath.Base(p), float64(st.Size())/(1<<20))
		}
	}
	t.Logf("report of %d findings (%s): %v; peak RSS %.0f MiB (%.0f MiB before writing)",
		res.Findings, strings.Join(formats, ","), elapsed.Round(time.Millisecond), float64(peak)/(1<<20), float64(before)/(1<<20))
	if res.Findings != n {
		t.Errorf("findings = %d", res.Findings)
	}
	if elapsed > 60*time.Second {
		t.Errorf("took %v, budget 60 s", elapsed)
	}
	if peak > 1<<30 {
		t.Errorf("peak RSS %d MiB, budget 1024 MiB", peak>>20)
	}
}

// TestLargeSynthetic writes the full report (xlsx and md) of a synthetic site
// (LARGE_PRESET, default L) through the real model. Budget for L: 90 s.
func TestLargeSynthetic(t *testing.T) {
	preset := os.Getenv("LARGE_PRESET")
	if preset == "" {
		preset = "L"
	}
	s, err := site.Generate(preset, 1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "model.duckdb")
	start := time.Now()
	m, err := model.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := modeltest.Load(t.Context(), m, s); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("model of synthetic %s built in %v", preset, time.Since(start).Round(time.Millisecond))
	db, err := sql.Open("duckdb", path+"?access_mode=READ_ONLY&autoinstall_known_extensions=false&autoload_known_extensions=false")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	execAll(t, db, "SET memory_limit = '512MB'")
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	var ru0 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	start = time.Now()
	res, err := Write(context.Background(), db, Options{Out: filepath.Join(dir, "l.xlsx"), Formats: []string{"xlsx", "md"}, Now: fixedNow,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	var ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano()-ru0.Utime.Nano()+ru1.Stime.Nano()-ru0.Stime.Nano()) * time.Nanosecond
	for _, st := range res.Sections {
		t.Logf("%-26s rows %10d  in xlsx %9d  sheets %d  %s", st.Key, st.Rows, st.XLSXRows, len(st.Sheets), st.Missing)
	}
	t.Logf("full report of synthetic %s: %v wall, %v CPU; peak RSS %d MiB", preset, elapsed.Round(time.Millisecond), cpu.Round(time.Millisecond), peakRSS(t)>>20)
	if preset == "L" && elapsed > 90*time.Second {
		t.Errorf("took %v, budget 90 s", elapsed)
	}
}
