package cli

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tabaudit/tabaudit/queries"
)

type queryOptions struct {
	DB     string
	Name   string
	Params []string
	Format string
	List   bool
}

func newCmdQuery(f *Factory) *cobra.Command {
	opts := &queryOptions{}
	cmd := &cobra.Command{
		Use:   "query NAME [--param k=v ...] | query list",
		Short: "Run one of the built-in analyst queries on the model",
		Long: `Run a query from tabaudit's library of SQL files (queries/*.sql) against a model database.
"tabaudit query list" shows every query with its parameters.`,
		Example: `  tabaudit query list
  tabaudit query access_of_user --db audit.duckdb --param user=ana@example.com
  tabaudit query inactive_users_with_access --param days=120 --format csv > inactive.csv`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError(errors.New("name a query, or run `tabaudit query list`"))
			}
			opts.Name = args[0]
			return queryRun(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().StringVar(&opts.DB, "db", "audit.duckdb", "model database built by `tabaudit model`")
	cmd.Flags().StringArrayVarP(&opts.Params, "param", "p", nil, "query parameter as name=value (repeatable)")
	cmd.Flags().StringVar(&opts.Format, "format", "", "table, csv or json (default: table on a terminal, csv when piped)")
	return cmd
}

func queryRun(ctx context.Context, f *Factory, opts *queryOptions) error {
	if opts.Name == "list" {
		return listQueries(f)
	}
	q, err := queries.Get(opts.Name)
	if err != nil {
		return usageError(err)
	}
	values := map[string]string{}
	for _, p := range opts.Params {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return usageError(fmt.Errorf("--param %q: want name=value", p))
		}
		values[k] = v
	}
	named, err := q.Bind(values)
	if err != nil {
		return usageError(err)
	}
	format, err := resultFormat(opts.Format, f.IO.OutTTY)
	if err != nil {
		return usageError(err)
	}
	db, err := openModelReadOnly(ctx, opts.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := requireRelations(ctx, db, opts.DB, q.Requires); err != nil {
		return err
	}
	args := make([]any, len(named))
	for i, n := range named {
		args[i] = sql.Named(n.Name, n.Value)
	}
	rs, err := db.QueryContext(ctx, q.SQL, args...)
	if err != nil {
		return fmt.Errorf("query %s (%s): %w", q.Name, q.File, err)
	}
	defer rs.Close()
	if _, err := writeRows(f.IO.Out, format, rs); err != nil {
		return fmt.Errorf("query %s: %w", q.Name, err)
	}
	return nil
}

func listQueries(f *Factory) error {
	all, err := queries.All()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(f.IO.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPARAMETERS\tTITLE")
	for _, q := range all {
		var ps []string
		for _, p := range q.Params {
			s := p.Name + "=<" + p.Type + ">"
			if p.Required {
				s += " (required)"
			} else if p.Default != "" {
				s += " (default " + p.Default + ")"
			}
			ps = append(ps, s)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", q.Name, strings.Join(ps, ", "), q.Title)
	}
	return tw.Flush()
}

// requireRelations fails with a clear message when a query needs part of the
// model that this database lacks (e.g. lineage tables when the snapshot was
// extracted with --no-lineage).
func requireRelations(ctx context.Context, db *sql.DB, path string, names []string) error {
	for _, n := range names {
		var found int
		err := db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM duckdb_tables() WHERE table_name = $1)
			+ (SELECT count(*) FROM duckdb_views() WHERE view_name = $1)`, n).Scan(&found)
		if err != nil {
			return fmt.Errorf("checking %s for %s: %w", path, n, err)
		}
		if found == 0 {
			return usageError(fmt.Errorf("%s has no %s: this query needs the lineage part of the model; "+
				"extract the snapshot with lineage (no --no-lineage, Metadata API enabled) and rebuild the model", path, n))
		}
	}
	return nil
}
