package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tabaudit/tabaudit/model"
	"github.com/tabaudit/tabaudit/model/lineage"
)

type modelOptions struct {
	Snapshot        string
	Snapshots       string
	Site            string
	DB              string
	AllowIncomplete bool
	MemoryLimit     string
	Threads         int
}

func newCmdModel(f *Factory) *cobra.Command {
	opts := &modelOptions{}
	cmd := &cobra.Command{
		Use:   "model (--snapshot DIR | --snapshots ROOT) [--db audit.duckdb]",
		Short: "Build the DuckDB model of effective access from a snapshot",
		Long: `Load a snapshot into a DuckDB database and compute effective access: the relations
effective_permissions, content and model_findings (and the lineage relations when the snapshot
has lineage). The database is rebuilt from scratch; it is written next to --db and renamed over
it only when complete.

--snapshots ROOT loads every snapshot under ROOT (site=*/snapshot=*/) into history_<table> tables
with site and snapshot columns, and the latest snapshot of the site (--site when ROOT holds
several) as the current model.

Exit codes: 0 built, 2 usage or input error (unreadable or newer snapshot, missing table),
3 incomplete snapshot without --allow-incomplete.`,
		Example: `  tabaudit model --snapshot out/site=finance/snapshot=20261127T053000Z
  tabaudit model --snapshot DIR --db audit.duckdb --allow-incomplete
  tabaudit model --snapshots out --site finance --db history.duckdb`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (opts.Snapshot == "") == (opts.Snapshots == "") {
				return usageError(errors.New("give exactly one of --snapshot DIR or --snapshots ROOT"))
			}
			if opts.Site != "" && opts.Snapshots == "" {
				return usageError(errors.New("--site goes with --snapshots"))
			}
			return modelRun(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Snapshot, "snapshot", "", "snapshot folder (holding manifest.json)")
	cmd.Flags().StringVar(&opts.Snapshots, "snapshots", "", "root of many snapshots (site=*/snapshot=*/), for history")
	cmd.Flags().StringVar(&opts.Site, "site", "", "with --snapshots: the site whose latest snapshot is the current model")
	cmd.Flags().StringVar(&opts.DB, "db", "audit.duckdb", "model database to write")
	cmd.Flags().BoolVar(&opts.AllowIncomplete, "allow-incomplete", false, "load a snapshot whose manifest says incomplete (recorded in snapshot_info)")
	cmd.Flags().StringVar(&opts.MemoryLimit, "memory-limit", "", "DuckDB memory limit, e.g. 4GB (default: DuckDB's, 80% of RAM)")
	cmd.Flags().IntVar(&opts.Threads, "threads", 0, "DuckDB threads (default: number of CPUs)")
	return cmd
}

func modelRun(ctx context.Context, f *Factory, opts *modelOptions) error {
	start := time.Now()
	tmp := opts.DB + ".building"
	for _, p := range []string{tmp, tmp + ".wal"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing %s: %w", p, err)
		}
	}
	db, err := model.OpenWith(ctx, tmp, model.Options{MemoryLimit: opts.MemoryLimit, Threads: opts.Threads, Logger: f.Logger})
	if err != nil {
		return err
	}
	cleanup := func() {
		db.Close()
		os.Remove(tmp)
		os.Remove(tmp + ".wal")
	}
	var info model.SnapshotInfo
	var hist *model.HistoryInfo
	if opts.Snapshot != "" {
		info, err = db.LoadSnapshot(ctx, opts.Snapshot, model.LoadOptions{AllowIncomplete: opts.AllowIncomplete})
	} else {
		var hi model.HistoryInfo
		hi, err = db.LoadHistory(ctx, opts.Snapshots, opts.Site, model.LoadOptions{AllowIncomplete: opts.AllowIncomplete})
		info, hist = hi.Current, &hi
	}
	if err != nil {
		cleanup()
		return modelError(err)
	}
	lineageNote := "built"
	if err := lineage.Build(ctx, db.SQL()); err != nil {
		if !errors.Is(err, lineage.ErrNoLineage) {
			cleanup()
			return err
		}
		lineageNote = "not in the snapshot"
	}
	if err := db.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	for _, p := range []string{opts.DB, opts.DB + ".wal"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("replacing %s: %w", p, err)
		}
	}
	if err := os.Rename(tmp, opts.DB); err != nil {
		return fmt.Errorf("replacing %s: %w", opts.DB, err)
	}
	printModelSummary(f, opts.DB, info, hist, lineageNote, time.Since(start))
	return nil
}

// modelError maps model errors to exit codes: incomplete snapshot 3, a
// snapshot this version cannot read 2.
func modelError(err error) error {
	var ie *model.IncompleteError
	if errors.As(err, &ie) {
		return &ExitError{Code: ExitIncomplete, Err: err}
	}
	return usageError(err)
}

func printModelSummary(f *Factory, path string, info model.SnapshotInfo, hist *model.HistoryInfo, lineageNote string, d time.Duration) {
	w := f.IO.Out
	verdict := "complete"
	if !info.Complete {
		verdict = "INCOMPLETE (loaded with --allow-incomplete)"
	}
	fmt.Fprintf(w, "model %s: snapshot %s (%s), site %q\n", path, info.SnapshotID, verdict, info.SiteName)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "table\trows\t")
	names := make([]string, 0, len(info.Rows))
	for n := range info.Rows {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(tw, "%s\t%d\t\n", n, info.Rows[n])
	}
	tw.Flush()
	for _, a := range info.Absent {
		fmt.Fprintf(w, "absent: %s (lineage not extracted)\n", a)
	}
	st := info.Stats
	fmt.Fprintf(w, "users %d, items %d (projects included), principal classes %d, ACL keys %d, grants %d, user-rule overlays %d, positions %d\n",
		st.Users, st.Items, st.Classes, st.ACLKeys, st.GrantRows, st.UserRuleRows, st.PositionRows)
	if len(st.UnknownCapabilities) > 0 {
		fmt.Fprintf(w, "unknown capabilities kept and flagged: %v\n", st.UnknownCapabilities)
	}
	fmt.Fprintf(w, "site findings %d; lineage %s; ceiling %s\n", st.Findings, lineageNote, st.CeilingVersion)
	if hist != nil {
		fmt.Fprintf(w, "history: %d snapshots under %s\n", len(hist.Snapshots), hist.Root)
	}
	fmt.Fprintf(w, "built in %s (model %s)\n", d.Round(time.Millisecond), st.Duration.Round(time.Millisecond))
}
