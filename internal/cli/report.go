package cli

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tabaudit/tabaudit/reports"
)

type reportOptions struct {
	DB          string
	Out         string
	Formats     string
	Snapshot    string
	AccessRows  int64
	FindingRows int64
	AccessPairs int64
	MemoryLimit string
}

func newCmdReport(f *Factory) *cobra.Command {
	opts := &reportOptions{}
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Write the audit report (Excel workbook, CSV, JSON, Markdown) from a model database",
		Long: `Write the report an auditor signs from a model database built by "tabaudit model" (and, for
findings, "tabaudit check"): Summary (snapshot, manifest verdict, counts, findings by rule and
severity with a chart, top causes), Findings, Causes, Access by content, Access by user, Table
exposure, Hygiene, Inventory, Policy and Provenance sheets.

Other formats share the workbook's file stem: --out report.xlsx --format xlsx,csv,json,md writes
report.xlsx, report-<section>.csv, report.json (schema reports/schema/findings.v1.json) and report.md.

Nothing is cut silently: a sheet past Excel's 1,048,576 rows is split into numbered sheets, and
"Findings" is capped at --finding-rows rows in the workbook, the most severe first, and
"Access by user" at --access-rows rows (all rows go to CSV and JSON); "Access by user"
expands at most --access-pairs user × item pairs: past that it covers the first users by name.
"Access by content" counts users per item without expanding them and always covers every item.
The Summary states every split, cap and coverage. Names from Tableau are written as text, never as formulas; CSV and
Markdown prefix values starting with = + - @ TAB CR or LF with an apostrophe.`,
		Example: `  tabaudit report --db audit.duckdb --out report.xlsx
  tabaudit report --db audit.duckdb --out q4/report.xlsx --format xlsx,csv,json,md`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return reportRun(cmd.Context(), f, opts, commandLine(cmd))
		},
	}
	cmd.Flags().StringVar(&opts.DB, "db", "audit.duckdb", "model database built by `tabaudit model`")
	cmd.Flags().StringVarP(&opts.Out, "out", "o", "report.xlsx", "report path; other formats share its stem")
	cmd.Flags().StringVar(&opts.Formats, "format", "xlsx", "comma-separated formats: xlsx, csv, json, md")
	cmd.Flags().StringVar(&opts.Snapshot, "snapshot", "", "snapshot id to report on when the database holds several (default: the latest)")
	cmd.Flags().Int64Var(&opts.AccessPairs, "access-pairs", reports.DefaultAccessPairs, "budget of user × item pairs \"Access by user\" expands; past it the sheet covers the first users by name (stated); 0 = no budget")
	cmd.Flags().StringVar(&opts.MemoryLimit, "memory-limit", defaultReportMemory, "DuckDB memory limit while reporting (e.g. 512MB, 2GB); past it DuckDB spills to <db>.tmp")
	cmd.Flags().Int64Var(&opts.AccessRows, "access-rows", reports.DefaultAccessRows, "most rows of \"Access by user\" in the workbook; 0 = no cap (split over sheets)")
	cmd.Flags().Int64Var(&opts.FindingRows, "finding-rows", reports.DefaultFindingRows, "most rows of \"Findings\" in the workbook, the most severe first; 0 = no cap (split over sheets)")
	return cmd
}

func reportRun(ctx context.Context, f *Factory, opts *reportOptions, cmdline string) error {
	formats, err := reports.ParseFormats(opts.Formats)
	if err != nil {
		return usageError(err)
	}
	db, err := openModelReadOnly(ctx, opts.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := setMemoryLimit(ctx, db, opts.MemoryLimit); err != nil {
		return err
	}
	res, err := reports.Write(ctx, db, reports.Options{
		Out: opts.Out, Formats: formats, SnapshotID: opts.Snapshot,
		AccessRows: noLimit(opts.AccessRows), FindingRows: noLimit(opts.FindingRows), AccessPairs: noLimit(opts.AccessPairs),
		ToolVersion: f.Version, CommandLine: cmdline, Now: f.Now, Logger: f.Logger,
	})
	if errors.Is(err, reports.ErrInput) {
		return usageError(err)
	}
	if err != nil {
		return withMemoryHint(err, opts.MemoryLimit)
	}
	printReportResult(f, res.Files, res.Sections)
	if res.Check == nil && res.Findings == 0 {
		fmt.Fprintln(f.IO.Out, "No policy check was run on this snapshot: the report has no findings (run `tabaudit check`).")
	} else {
		fmt.Fprintf(f.IO.Out, "%d findings.\n", res.Findings)
	}
	if res.Snapshot != nil && res.Snapshot.ID != "" && !res.Snapshot.Complete {
		fmt.Fprintf(f.IO.ErrOut, "warning: %s\n", res.Snapshot.Verdict)
	}
	return nil
}

// noLimit maps a flag's 0 ("no cap") to the negative reports.Options takes
// for it, since 0 there means the default.
func noLimit(n int64) int64 {
	if n == 0 {
		return -1
	}
	return n
}

// withMemoryHint says what to do when DuckDB ran out of the report's memory
// limit: sorting every finding for CSV or JSON is what outgrows the default
// on a large site (21 million findings on the L preset).
func withMemoryHint(err error, limit string) error {
	if !strings.Contains(err.Error(), "Out of Memory Error") {
		return err
	}
	return fmt.Errorf("%w\n(DuckDB ran out of its --memory-limit %s: raise it, e.g. --memory-limit 4GB, "+
		"or write only xlsx and md, which read the first --finding-rows findings and count the rest)", err, limit)
}

func printReportResult(f *Factory, files []string, sections []reports.SectionStats) {
	for _, p := range files {
		fmt.Fprintf(f.IO.Out, "wrote %s\n", p)
	}
	for _, st := range sections {
		if st.Capped {
			fmt.Fprintf(f.IO.Out, "%s: the workbook holds %d of %d rows (see the Summary sheet)\n", st.Sheet, st.XLSXRows, st.Rows)
		} else if len(st.Sheets) > 1 {
			fmt.Fprintf(f.IO.Out, "%s: %d rows split over %d sheets\n", st.Sheet, st.Rows, len(st.Sheets))
		}
	}
}

// defaultReportMemory keeps a report of a million findings under 1 GiB of
// resident memory: the rest of DuckDB's working set spills to disk.
const defaultReportMemory = "512MB"

var memoryLimitRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$`)

// setMemoryLimit caps DuckDB's buffer manager for this process's database.
func setMemoryLimit(ctx context.Context, db *sql.DB, limit string) error {
	if limit == "" {
		return nil
	}
	if !memoryLimitRE.MatchString(limit) {
		return usageError(fmt.Errorf("--memory-limit %q: want a size such as 512MB or 2GB", limit))
	}
	if _, err := db.ExecContext(ctx, "SET memory_limit = '"+limit+"'"); err != nil {
		return fmt.Errorf("setting the DuckDB memory limit: %w", err)
	}
	return nil
}

// commandLine reconstructs the command as run, from the flags that were set,
// for the report's provenance. Only flag values reach it, and no command that
// writes a report takes a secret as a flag.
func commandLine(cmd *cobra.Command) string {
	parts := []string{cmd.CommandPath()}
	cmd.Flags().Visit(func(fl *pflag.Flag) {
		parts = append(parts, "--"+fl.Name+"="+fl.Value.String())
	})
	return strings.Join(parts, " ")
}
