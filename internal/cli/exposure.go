package cli

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

type exposureOptions struct {
	DB         string
	Table      string
	Column     string
	User       string
	Capability string
	Precision  string
	Detail     bool
	Format     string
}

func newCmdExposure(f *Factory) *cobra.Command {
	opts := &exposureOptions{}
	cmd := &cobra.Command{
		Use:   "exposure (--table SCHEMA.TABLE | --user USER)",
		Short: "Who can see data from a database table, and through which content",
		Long: `Join effective access with lineage. With --table, list the content that shows data from the
table and how many users can reach it through each (--detail lists the users). With --user, list
the tables whose data the user's access exposes.

Precision "fields" counts only what a sheet's fields use; "datasource" counts every table of the
data sources behind the content, used or not. Hidden sheets count through their dashboards.`,
		Example: `  tabaudit exposure --db audit.duckdb --table hr.salaries
  tabaudit exposure --table hr.salaries --column salary --capability ViewUnderlyingData --detail
  tabaudit exposure --user ana@example.com`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (opts.Table == "") == (opts.User == "") {
				return usageError(errors.New("give exactly one of --table or --user"))
			}
			if opts.Precision != "fields" && opts.Precision != "datasource" {
				return usageError(fmt.Errorf("--precision %q: want fields or datasource", opts.Precision))
			}
			return exposureRun(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().StringVar(&opts.DB, "db", "audit.duckdb", "model database built by `tabaudit model`")
	cmd.Flags().StringVar(&opts.Table, "table", "", "table as [database.]schema.table or table name")
	cmd.Flags().StringVar(&opts.Column, "column", "", "only content whose fields use this column (implies --precision fields)")
	cmd.Flags().StringVar(&opts.User, "user", "", "user name, email or LUID: tables this user's access exposes")
	cmd.Flags().StringVar(&opts.Capability, "capability", "", "only this capability (Read, ExportData, ViewUnderlyingData, Connect, ...)")
	cmd.Flags().StringVar(&opts.Precision, "precision", "datasource", "fields or datasource")
	cmd.Flags().BoolVar(&opts.Detail, "detail", false, "one row per user instead of counts")
	cmd.Flags().StringVar(&opts.Format, "format", "", "table, csv or json (default: table on a terminal, csv when piped)")
	return cmd
}

func exposureRun(ctx context.Context, f *Factory, opts *exposureOptions) error {
	format, err := resultFormat(opts.Format, f.IO.OutTTY)
	if err != nil {
		return usageError(err)
	}
	db, err := openModelReadOnly(ctx, opts.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := requireRelations(ctx, db, opts.DB, []string{"table_exposure"}); err != nil {
		return err
	}
	if opts.Column != "" {
		opts.Precision = "fields"
	}
	var where []string
	args := []any{sql.Named("precision", opts.Precision)}
	where = append(where, "precision = $precision")
	if opts.Capability != "" {
		where = append(where, "capability = $capability")
		args = append(args, sql.Named("capability", opts.Capability))
	}
	if opts.Column != "" {
		where = append(where, "lower(column_name) = lower($column)")
		args = append(args, sql.Named("column", opts.Column))
	} else {
		where = append(where, "column_name IS NULL")
	}
	var q string
	if opts.Table != "" {
		n, err := matchingTables(ctx, db, opts.Table)
		if err != nil {
			return err
		}
		if n == 0 {
			return usageError(fmt.Errorf("no table %q in the lineage of %s", opts.Table, opts.DB))
		}
		where = append(where, tableMatch)
		args = append(args, sql.Named("table", opts.Table))
		if opts.Detail {
			q = `SELECT database_name, schema_name, table_name, user_name, capability, via_content_type, via_content_name,
				via_project_path, via_path, decision_reason, datasource_connect
				FROM table_exposure WHERE ` + strings.Join(where, " AND ") + `
				ORDER BY user_name, via_project_path, via_content_name, capability`
		} else {
			q = `SELECT database_name, schema_name, table_name, via_content_type, via_content_name, via_project_path, capability,
				count(DISTINCT user_id) AS users, any_value(via_path) AS via_path
				FROM table_exposure WHERE ` + strings.Join(where, " AND ") + `
				GROUP BY ALL ORDER BY users DESC, via_project_path, via_content_name, capability`
		}
	} else {
		where = append(where, "user_id IN (SELECT id FROM users WHERE id = $user OR name = $user OR lower(email) = lower($user))")
		args = append(args, sql.Named("user", opts.User))
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE id = $user OR name = $user OR lower(email) = lower($user)`,
			sql.Named("user", opts.User)).Scan(&n); err != nil {
			return fmt.Errorf("looking up user %q: %w", opts.User, err)
		}
		if n == 0 {
			return usageError(fmt.Errorf("no user %q in %s (give a name, email or LUID)", opts.User, opts.DB))
		}
		q = `SELECT database_name, schema_name, table_name,
			string_agg(DISTINCT capability, ', ' ORDER BY capability) AS capabilities,
			count(DISTINCT via_content) AS via_content_items,
			string_agg(DISTINCT via_content_name, '; ' ORDER BY via_content_name) AS via
			FROM table_exposure WHERE ` + strings.Join(where, " AND ") + `
			GROUP BY ALL ORDER BY database_name, schema_name, table_name`
	}
	rs, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("querying table_exposure: %w", err)
	}
	defer rs.Close()
	_, err = writeRows(f.IO.Out, format, rs)
	return err
}

// tableMatch accepts "table", "schema.table" and "database.schema.table",
// case-insensitively.
const tableMatch = `(lower($table) = lower(table_name)
	OR lower($table) = lower(schema_name || '.' || table_name)
	OR lower($table) = lower(database_name || '.' || schema_name || '.' || table_name))`

func matchingTables(ctx context.Context, db *sql.DB, table string) (int, error) {
	var n int
	// Look in every lineage table, not only those feeding content, so a table
	// nobody can reach answers with an empty result rather than "no table".
	err := db.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT name AS table_name, schema AS schema_name, database_name
		FROM lineage_nodes WHERE kind = 'table') WHERE `+tableMatch, sql.Named("table", table)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("looking up table %q: %w", table, err)
	}
	return n, nil
}
