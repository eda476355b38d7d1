package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/tabaudit/tabaudit/extract"
	"github.com/tabaudit/tabaudit/extract/site"
	"github.com/tabaudit/tabaudit/extract/tableau"
	"github.com/tabaudit/tabaudit/extract/tableautest"
	"github.com/tabaudit/tabaudit/internal/demo"
	"github.com/tabaudit/tabaudit/rules"
)

type demoOptions struct {
	Out    string
	Preset string
	Seed   int64
}

func newCmdDemo(f *Factory) *cobra.Command {
	opts := &demoOptions{}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole audit on a built-in simulated Tableau site",
		Long: `Start the Tableau simulator in-process, then run the quarterly audit against it through real HTTP:
extract (REST + Metadata API) → model (DuckDB) → check (a sample policy) → report. Everything lands in
--out: the snapshot, audit.duckdb, report.xlsx, findings.md and the policy used.

The built-in site is a small company with the drift a real review finds: a group with more access than
approved, a forbidden download right, a salary table exposed through a dashboard, an expired waiver.
--preset S|M|L runs the same pipeline on a generated site instead (without the sample policy).`,
		Example: `  go run ./cmd/tabaudit demo
  tabaudit demo --out /tmp/demo
  tabaudit demo --preset M --seed 7`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return demoRun(cmd.Context(), f, opts, commandLine(cmd))
		},
	}
	cmd.Flags().StringVar(&opts.Out, "out", "demo-out", "output folder")
	cmd.Flags().StringVar(&opts.Preset, "preset", "", "use a generated site of this size (S, M or L) instead of the built-in one")
	cmd.Flags().Int64Var(&opts.Seed, "seed", 1, "seed of the generated site")
	return cmd
}

func demoRun(ctx context.Context, f *Factory, opts *demoOptions, cmdline string) error {
	start := time.Now()
	var (
		s   *site.Site
		err error
	)
	if opts.Preset != "" {
		s, err = site.Generate(opts.Preset, opts.Seed)
	} else {
		s, err = demo.Site()
	}
	if err != nil {
		return usageError(err)
	}
	out, err := filepath.Abs(opts.Out)
	if err != nil {
		return usageError(err)
	}
	if err := checkWritable(out); err != nil {
		return usageError(fmt.Errorf("--out: %w", err))
	}
	var matrix *rules.Matrix
	matrixPath := filepath.Join(out, "matrix.yaml")
	if opts.Preset == "" {
		// The policy is written next to the results so people can edit it and
		// rerun `tabaudit check` on the same model.
		if err := os.WriteFile(matrixPath, demo.Matrix, 0o644); err != nil {
			return err
		}
		if matrix, err = rules.Load(matrixPath); err != nil {
			return matrixError(err)
		}
	}
	srv, err := tableautest.Start(s)
	if err != nil {
		return fmt.Errorf("starting the simulator: %w", err)
	}
	defer srv.Close()
	fmt.Fprintf(f.IO.ErrOut, "Simulated Tableau site %q at %s\n", site.DisplayName(s.Name, s.ContentURL), srv.URL)

	ec := extract.Config{
		ServerURL: srv.URL,
		Credentials: tableau.Credentials{
			PATName: tableautest.DefaultPATName, PATSecret: tableautest.DefaultPATSecret, ContentURL: s.ContentURL,
		},
		Sites: []string{s.ContentURL}, OutRoot: filepath.Join(out, "snapshots"),
		ToolVersion: f.Version, Logger: f.Logger, Now: f.Now,
	}
	pr := newProgressRenderer(f.IO.ErrOut, f.IO.ErrTTY)
	ec.Progress = pr.update
	if !f.IO.ErrTTY {
		ec.ProgressEvery = 10 * time.Second
	}
	a := auditSite(ctx, f, auditParams{
		// Generated sites withhold some table names from the Metadata API, as
		// real sites do, which makes their lineage (and snapshot) incomplete;
		// the demo audits them anyway and the report says so.
		AllowIncomplete: opts.Preset != "",
		Extract:         ec, OutDir: out, Matrix: matrix, FailOn: "none",
		Formats: []string{"xlsx", "md", "csv", "json"}, CommandLine: cmdline,
	})
	pr.finish()
	for i, file := range a.Files {
		if filepath.Base(file) == "report.md" {
			a.Files[i] = filepath.Join(filepath.Dir(file), "findings.md")
		}
	}
	printRunSummary(f, []*siteAudit{a})
	if a.Err != nil {
		return &ExitError{Code: a.Code, Err: a.Err}
	}
	// The Markdown is the findings summary for a ticket; name it so.
	if err := os.Rename(filepath.Join(out, "report.md"), filepath.Join(out, "findings.md")); err != nil {
		return err
	}
	w := f.IO.Out
	fmt.Fprintf(w, "\nDemo finished in %s. Open:\n", time.Since(start).Round(100*time.Millisecond))
	fmt.Fprintf(w, "  %s   the workbook auditors read (Excel or LibreOffice)\n", filepath.Join(out, "report.xlsx"))
	fmt.Fprintf(w, "  %s    the findings, ready to paste into a ticket\n", filepath.Join(out, "findings.md"))
	fmt.Fprintf(w, "  %s  the model; open it in any DuckDB client\n", filepath.Join(out, "audit.duckdb"))
	fmt.Fprintf(w, "  %s            the snapshot (Parquet + manifest.json)\n", a.SnapshotDir)
	db := filepath.Join(out, "audit.duckdb")
	fmt.Fprintf(w, "\nTry:\n")
	if opts.Preset == "" {
		fmt.Fprintf(w, "  tabaudit explain --db %s --user sam@acme.example --item \"Headcount and Cost\" --capability Read\n", db)
		fmt.Fprintf(w, "  tabaudit exposure --db %s --table hr.salaries\n", db)
	} else {
		fmt.Fprintf(w, "  tabaudit query admins_and_leaders --db %s\n", db)
		fmt.Fprintf(w, "  tabaudit exposure --db %s --table hr.salaries\n", db)
	}
	fmt.Fprintf(w, "  tabaudit sql --db %s \"SELECT reason, count(*) FROM effective_permissions WHERE capability = 'Read' AND decision = 'allow' GROUP BY ALL\"\n", db)
	return nil
}
