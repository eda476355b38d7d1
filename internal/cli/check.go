package cli

import (
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/tabaudit/tabaudit/reports"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tabaudit/tabaudit/model"
	"github.com/tabaudit/tabaudit/rules"
)

type checkOptions struct {
	DB              string
	Rules           string
	FailOn          string
	Format          string
	Validate        bool
	Init            bool
	Out             string
	Snapshot        string
	AllowIncomplete bool
	Hygiene         []string
	MemoryLimit     string
	MaxTemp         string
}

func newCmdCheck(f *Factory) *cobra.Command {
	opts := &checkOptions{}
	cmd := &cobra.Command{
		Use:   "check --db audit.duckdb --rules MATRIX",
		Short: "Compare effective access with the expected access matrix; run hygiene checks",
		Long: `Check the snapshot in a model database against an expected access matrix (YAML, CSV or xlsx;
see rules/doc.go for the format) and the built-in hygiene checks. Findings are written into the
model database (findings, finding_causes, check_runs, policy_rules, policy_waivers), replacing an
earlier run's rows for the same snapshot, and summarised by cause.

Exit codes: 0 clean, 1 findings at or above --fail-on (waived findings never gate), 2 usage or
matrix error (every problem is listed with file:line and a code), 3 incomplete snapshot.

--validate only checks the matrix: its syntax, and with --db its names against the snapshot.
--init writes a starter matrix derived from today's effective access, to review.`,
		Example: `  tabaudit check --db audit.duckdb --rules matrix.yaml
  tabaudit check --db audit.duckdb --rules matrix.xlsx --fail-on medium --format json
  tabaudit check --rules matrix.csv --validate
  tabaudit check --db audit.duckdb --rules matrix.yaml --hygiene inactive_users.days=60 --hygiene deny_rules=off
  tabaudit check --db audit.duckdb --init --out matrix.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("db") && !opts.Validate {
				opts.DB = "audit.duckdb"
			}
			return checkRun(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().StringVar(&opts.DB, "db", "", "model database built by `tabaudit model` (default audit.duckdb; optional with --validate)")
	cmd.Flags().StringVar(&opts.Rules, "rules", "", "expected access matrix: .yaml, .csv or .xlsx")
	cmd.Flags().StringVar(&opts.FailOn, "fail-on", "high", "exit 1 when a finding at or above this severity is not waived: critical, high, medium, low, info or none")
	cmd.Flags().StringVar(&opts.Format, "format", "", "summary format: table, csv or json (default: table on a terminal, csv when piped)")
	cmd.Flags().BoolVar(&opts.Validate, "validate", false, "only validate the matrix (against the snapshot when --db is given)")
	cmd.Flags().BoolVar(&opts.Init, "init", false, "write a starter matrix derived from the current effective access")
	cmd.Flags().StringVar(&opts.Out, "out", "", "with --init: file to write (.yaml, .csv or .xlsx; default stdout as YAML)")
	cmd.Flags().StringVar(&opts.Snapshot, "snapshot", "", "snapshot id to check (default: the most recent in the database)")
	cmd.Flags().BoolVar(&opts.AllowIncomplete, "allow-incomplete", false, "check a snapshot whose manifest says incomplete")
	cmd.Flags().StringVar(&opts.MemoryLimit, "memory-limit", "2GB", "DuckDB memory limit for the check; beyond it DuckDB spills to disk (the process peaks about 1.5 GB above it)")
	cmd.Flags().StringVar(&opts.MaxTemp, "max-temp", "8GB", "largest spill to disk before the check fails (protects the disk)")
	cmd.Flags().StringArrayVar(&opts.Hygiene, "hygiene", nil, "switch or tune a hygiene check: NAME=off|on|SEVERITY, NAME.days=N, NAME.max=N, all=off (repeatable)")
	return cmd
}

func checkRun(ctx context.Context, f *Factory, opts *checkOptions) error {
	if opts.Init {
		return checkInit(ctx, f, opts)
	}
	if opts.Rules == "" {
		return usageError(errors.New("--rules is required (or --init to write a starter matrix)"))
	}
	format, err := resultFormat(opts.Format, f.IO.OutTTY)
	if err != nil {
		return usageError(err)
	}
	if opts.FailOn != "none" && rules.SeverityRank(opts.FailOn) < 0 {
		return usageError(fmt.Errorf("--fail-on %q: want critical, high, medium, low, info or none", opts.FailOn))
	}
	overrides := map[string]*rules.HygieneSetting{}
	for _, h := range opts.Hygiene {
		if err := rules.ParseHygieneFlag(overrides, h); err != nil {
			return usageError(err)
		}
	}
	m, err := rules.Load(opts.Rules)
	if err != nil {
		return matrixError(err)
	}
	for _, w := range m.Warnings {
		fmt.Fprintf(f.IO.ErrOut, "tabaudit: %v\n", w)
	}
	if opts.Validate && opts.DB == "" {
		fmt.Fprintf(f.IO.Out, "%s: %d rules, %d waivers: syntax valid (give --db to check names against a snapshot)\n",
			opts.Rules, len(m.Rules), len(m.Waivers))
		return nil
	}
	db, err := openModel(ctx, opts)
	if err != nil {
		return err
	}
	defer db.Close()
	if opts.Validate {
		ds, err := rules.Validate(ctx, db.SQL(), m)
		if err != nil {
			return err
		}
		if errs := ds.Errors(); len(errs) > 0 {
			return matrixError(errs)
		}
		fmt.Fprintf(f.IO.Out, "%s: %d rules, %d waivers: valid against the snapshot\n", opts.Rules, len(m.Rules), len(m.Waivers))
		return nil
	}
	res, err := rules.Check(ctx, db.SQL(), m, rules.Options{
		Now: f.Now(), SnapshotID: opts.Snapshot, FailOn: opts.FailOn, AllowIncomplete: opts.AllowIncomplete,
		Hygiene: overrides, ToolVersion: f.Version, Logger: f.Logger,
	})
	var inc *rules.IncompleteError
	switch {
	case errors.As(err, &inc):
		return &ExitError{Code: ExitIncomplete, Err: err}
	case err != nil:
		var ds rules.Diagnostics
		if errors.As(err, &ds) {
			return matrixError(err)
		}
		return fmt.Errorf("checking %s: %w", opts.Rules, err)
	}
	for _, w := range res.Warnings {
		if w.Code != rules.CodeTemplateWarning { // already printed at load
			fmt.Fprintf(f.IO.ErrOut, "tabaudit: %v\n", w)
		}
	}
	if err := writeCheckSummary(f, format, res); err != nil {
		return err
	}
	if res.Gated > 0 {
		return &ExitError{Code: ExitFindings, Err: fmt.Errorf("%s at or above %s (of %d; %d waived)", count(int(res.Gated), "finding"), opts.FailOn, res.Findings, res.Waived)}
	}
	return nil
}

// matrixError prints every diagnostic on its own line and exits 2.
func matrixError(err error) error {
	var ds rules.Diagnostics
	if errors.As(err, &ds) {
		errs := ds.Errors()
		return usageError(fmt.Errorf("%s in the matrix:\n%w", count(len(errs), "problem"), errs))
	}
	return usageError(err)
}

// openModel opens an existing model database for writing findings (DuckDB
// would create an empty one for a wrong path), with bounded memory and
// spill, so a check that outgrows the machine fails loudly rather than
// filling the disk.
func openModel(ctx context.Context, opts *checkOptions) (*model.DB, error) {
	if _, err := os.Stat(opts.DB); err != nil {
		return nil, usageError(fmt.Errorf("model database %s: %w (build it with `tabaudit model`)", opts.DB, err))
	}
	db, err := model.OpenWith(ctx, opts.DB, model.Options{MemoryLimit: opts.MemoryLimit})
	if err != nil {
		return nil, err
	}
	if opts.MaxTemp != "" {
		if _, err := db.SQL().ExecContext(ctx, `SET max_temp_directory_size = `+quoteSQL(opts.MaxTemp)); err != nil {
			db.Close()
			return nil, usageError(fmt.Errorf("--max-temp %q: %w", opts.MaxTemp, err))
		}
	}
	return db, nil
}

func quoteSQL(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func writeCheckSummary(f *Factory, format string, res *rules.Result) error {
	w := f.IO.Out
	totals := fmt.Sprintf("snapshot %s: %d findings (%d violations, %d need review, %d waived); %d at or above the fail-on severity",
		res.SnapshotID, res.Findings, res.Violations, res.NeedsReview, res.Waived, res.Gated)
	cols := []string{"severity", "kind", "rule", "check", "findings", "users", "items", "violations", "needs_review", "waived", "cause"}
	row := func(c rules.Cause) []string {
		return []string{c.Severity, c.Kind, c.RuleID, c.CheckID, strconv.FormatInt(c.Findings, 10), strconv.FormatInt(c.Users, 10),
			strconv.FormatInt(c.Items, 10), strconv.FormatInt(c.Violations, 10), strconv.FormatInt(c.NeedsReview, 10),
			strconv.FormatInt(c.Waived, 10), c.Description}
	}
	switch format {
	case "table":
		fmt.Fprintln(w, totals)
		if len(res.Causes) == 0 {
			return nil
		}
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SEVERITY\tKIND\tRULE/CHECK\tFINDINGS\tUSERS\tITEMS\tCAUSE")
		for _, c := range res.Causes {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\n", c.Severity, c.Kind, cmp.Or(c.RuleID, c.CheckID), c.Findings, c.Users, c.Items, tableCell(c.Description))
		}
		return tw.Flush()
	case "csv":
		fmt.Fprintln(f.IO.ErrOut, "tabaudit: "+totals)
		cw := csv.NewWriter(w)
		cw.Write(cols)
		for _, c := range res.Causes {
			rec := row(c)
			for i := range rec {
				rec[i] = reports.SafeText(rec[i])
			}
			cw.Write(rec)
		}
		cw.Flush()
		return cw.Error()
	case "json":
		fmt.Fprintln(f.IO.ErrOut, "tabaudit: "+totals)
		type causeJSON struct {
			ID          string `json:"cause_id"`
			Severity    string `json:"severity"`
			Kind        string `json:"kind"`
			Rule        string `json:"rule_id,omitempty"`
			Check       string `json:"check_id,omitempty"`
			Grantee     string `json:"grantee,omitempty"`
			Capability  string `json:"capability,omitempty"`
			Findings    int64  `json:"findings"`
			Users       int64  `json:"users"`
			Items       int64  `json:"items"`
			Violations  int64  `json:"violations"`
			NeedsReview int64  `json:"needs_review"`
			Waived      int64  `json:"waived"`
			Description string `json:"description"`
		}
		out := struct {
			RunID       string      `json:"run_id"`
			SnapshotID  string      `json:"snapshot_id"`
			Findings    int64       `json:"findings"`
			Violations  int64       `json:"violations"`
			NeedsReview int64       `json:"needs_review"`
			Waived      int64       `json:"waived"`
			Gated       int64       `json:"gated"`
			Causes      []causeJSON `json:"causes"`
		}{RunID: res.RunID, SnapshotID: res.SnapshotID, Findings: res.Findings, Violations: res.Violations,
			NeedsReview: res.NeedsReview, Waived: res.Waived, Gated: res.Gated, Causes: []causeJSON{}}
		for _, c := range res.Causes {
			out.Causes = append(out.Causes, causeJSON{c.ID, c.Severity, c.Kind, c.RuleID, c.CheckID, c.Grantee, c.Capability,
				c.Findings, c.Users, c.Items, c.Violations, c.NeedsReview, c.Waived, c.Description})
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	return nil
}

func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func checkInit(ctx context.Context, f *Factory, opts *checkOptions) error {
	db, err := openModel(ctx, opts)
	if err != nil {
		return err
	}
	defer db.Close()
	m, err := rules.Init(ctx, db.SQL(), opts.Snapshot)
	if err != nil {
		return err
	}
	header := []string{
		"Starter expected access matrix, derived by `tabaudit check --init` from the access people hold today.",
		"REVIEW IT BEFORE USE: it approves whatever exists now, drift included. For each rule, confirm the",
		"business owner wants these groups to hold this access, delete what should not exist, merge rules,",
		"and widen scopes (e.g. \"Finance/**\") where a whole branch shares one policy. Format: rules/doc.go.",
		"",
	}
	var buf bytes.Buffer
	switch strings.ToLower(filepath.Ext(opts.Out)) {
	case ".csv":
		err = rules.WriteCSV(m, &buf, nil, nil)
	case ".xlsx":
		err = rules.WriteXLSX(m, &buf)
	default:
		err = rules.WriteYAML(&buf, m, header)
	}
	if err != nil {
		return err
	}
	if opts.Out == "" {
		_, err = io.Copy(f.IO.Out, &buf)
		return err
	}
	if err := os.WriteFile(opts.Out, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing starter matrix: %w", err)
	}
	fmt.Fprintf(f.IO.ErrOut, "tabaudit: wrote %s: %d rules; review it before use\n", opts.Out, len(m.Rules))
	return nil
}
