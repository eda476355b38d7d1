package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tabaudit/tabaudit/extract/snapshot"
	"github.com/tabaudit/tabaudit/model"
	"github.com/tabaudit/tabaudit/reports"
)

type diffOptions struct {
	DB              string
	From, To        string
	Out             string
	Formats         string
	AllowIncomplete bool
	MemoryLimit     string
}

func newCmdDiff(f *Factory) *cobra.Command {
	opts := &diffOptions{}
	cmd := &cobra.Command{
		Use:   "diff --from SNAPSHOT --to SNAPSHOT",
		Short: "Compare two snapshots: access gained and lost, rule, role, membership and content changes",
		Long: `Compare two snapshots and write a change report in the report formats: access gained and lost
per user and per item (current allows of effective_permissions), permission rules added, removed
or changed, site-role changes, users, groups and content added or removed, group membership
changes, and moved, renamed or re-owned content.

--from and --to each name a snapshot folder (with manifest.json; it is loaded into a temporary
model), a model database file, or, with --db, a snapshot id recorded in that database's
snapshot_info (its folder is loaded again).`,
		Example: `  tabaudit diff --from snapshots/site=acme/snapshot=20260901T0530Z --to snapshots/site=acme/snapshot=20261201T0530Z
  tabaudit diff --from q3.duckdb --to q4.duckdb --out changes.xlsx --format xlsx,md
  tabaudit diff --db audit.duckdb --from acme/20260901T053000Z --to acme/20261201T053000Z`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.From == "" || opts.To == "" {
				return usageError(errors.New("give both --from and --to"))
			}
			return diffRun(cmd.Context(), f, opts, commandLine(cmd))
		},
	}
	cmd.Flags().StringVar(&opts.DB, "db", "", "model database whose snapshot_info names the snapshots given as ids")
	cmd.Flags().StringVar(&opts.From, "from", "", "earlier snapshot: folder, model database, or snapshot id with --db")
	cmd.Flags().StringVar(&opts.To, "to", "", "later snapshot: folder, model database, or snapshot id with --db")
	cmd.Flags().StringVarP(&opts.Out, "out", "o", "diff.xlsx", "report path; other formats share its stem")
	cmd.Flags().StringVar(&opts.Formats, "format", "xlsx", "comma-separated formats: xlsx, csv, json, md")
	cmd.Flags().StringVar(&opts.MemoryLimit, "memory-limit", defaultReportMemory, "DuckDB memory limit while comparing (e.g. 512MB, 2GB)")
	cmd.Flags().BoolVar(&opts.AllowIncomplete, "allow-incomplete", false, "compare snapshots whose manifest says incomplete")
	return cmd
}

func diffRun(ctx context.Context, f *Factory, opts *diffOptions, cmdline string) error {
	formats, err := reports.ParseFormats(opts.Formats)
	if err != nil {
		return usageError(err)
	}
	tmp, err := os.MkdirTemp("", "tabaudit-diff-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	var paths [2]string
	for i, ref := range []string{opts.From, opts.To} {
		p, err := diffModelPath(ctx, f, opts, ref, filepath.Join(tmp, fmt.Sprintf("side%d.duckdb", i)))
		if err != nil {
			return err
		}
		paths[i] = p
	}
	db, err := reports.OpenDiff(ctx, paths[0], paths[1])
	if err != nil {
		return err
	}
	defer db.Close()
	if err := setMemoryLimit(ctx, db, opts.MemoryLimit); err != nil {
		return err
	}
	res, err := reports.Diff(ctx, db, reports.DiffSide{Catalog: "old", Label: opts.From}, reports.DiffSide{Catalog: "new", Label: opts.To},
		reports.DiffOptions{Out: opts.Out, Formats: formats, ToolVersion: f.Version, CommandLine: cmdline, Now: f.Now})
	if errors.Is(err, reports.ErrInput) {
		return usageError(err)
	}
	if err != nil {
		return err
	}
	printReportResult(f, res.Files, res.Sections)
	for _, key := range []string{"access", "rules", "users", "groups", "memberships", "content"} {
		var parts []string
		for c, n := range res.Counts[key] {
			parts = append(parts, fmt.Sprintf("%d %s", n, c))
		}
		if len(parts) == 0 {
			parts = []string{"no change"}
		}
		slices.Sort(parts)
		fmt.Fprintf(f.IO.Out, "%s: %s\n", key, strings.Join(parts, ", "))
	}
	return nil
}

// diffModelPath turns one side of the comparison into a model database file.
func diffModelPath(ctx context.Context, f *Factory, opts *diffOptions, ref, scratch string) (string, error) {
	if opts.DB != "" {
		db, err := openModelReadOnly(ctx, opts.DB)
		if err != nil {
			return "", err
		}
		var dir string
		err = db.QueryRowContext(ctx, `SELECT any_value(dir) FROM snapshot_info WHERE snapshot_id = $1`, ref).Scan(&dir)
		if err != nil || dir == "" {
			var ids []string
			rs, qerr := db.QueryContext(ctx, `SELECT snapshot_id || ' (' || coalesce(dir, 'no folder recorded') || ')' FROM snapshot_info ORDER BY started_at`)
			if qerr == nil {
				for rs.Next() {
					var s string
					if rs.Scan(&s) == nil {
						ids = append(ids, s)
					}
				}
				rs.Close()
			}
			db.Close()
			return "", usageError(fmt.Errorf("snapshot %q is not recorded with its folder in %s; it holds: %s", ref, opts.DB, strings.Join(ids, ", ")))
		}
		db.Close()
		ref = dir
	}
	st, err := os.Stat(ref)
	if err != nil {
		return "", usageError(fmt.Errorf("--from/--to %q: %w (give a snapshot folder, a model database, or a snapshot id with --db)", ref, err))
	}
	if !st.IsDir() {
		return ref, nil // a model database
	}
	if _, err := os.Stat(filepath.Join(ref, snapshot.ManifestFile)); err != nil {
		return "", usageError(fmt.Errorf("%s is not a snapshot folder (no %s)", ref, snapshot.ManifestFile))
	}
	m, err := model.Open(ctx, scratch)
	if err != nil {
		return "", err
	}
	if _, err := m.LoadSnapshot(ctx, ref, model.LoadOptions{AllowIncomplete: opts.AllowIncomplete}); err != nil {
		m.Close()
		var inc *model.IncompleteError
		if errors.As(err, &inc) {
			return "", &ExitError{Code: ExitIncomplete, Err: err}
		}
		return "", fmt.Errorf("loading snapshot %s: %w", ref, err)
	}
	if err := m.Close(); err != nil {
		return "", fmt.Errorf("loading snapshot %s: %w", ref, err)
	}
	if f.Logger != nil {
		f.Logger.Info("snapshot loaded for diff", "dir", ref)
	}
	return scratch, nil
}
