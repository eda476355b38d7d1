package cli

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tabaudit/tabaudit/model"
)

type exposureOptions struct {
	DB         string
	Tables     []string
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
  tabaudit exposure --table hr.salaries,finance.general_ledger --capability Read
  tabaudit exposure --table hr.salaries --column salary --capability ViewUnderlyingData --detail
  tabaudit exposure --user ana@example.com`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(opts.Tables) == 0) == (opts.User == "") {
				return usageError(errors.New("give exactly one of --table or --user"))
			}
			if opts.Precision != "fields" && opts.Precision != "datasource" {
				return usageError(fmt.Errorf("--precision %q: want fields or datasource", opts.Precision))
			}
			return exposureRun(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().StringVar(&opts.DB, "db", "audit.duckdb", "model database built by `tabaudit model`")
	cmd.Flags().StringSliceVar(&opts.Tables, "table", nil, "table as [database.]schema.table or table name (repeat or comma-separate for several)")
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
	if opts.User != "" {
		return exposureOfUser(ctx, f, db, opts, format)
	}
	var matches []string
	for _, t := range opts.Tables {
		n, err := matchingTables(ctx, db, t)
		if err != nil {
			return err
		}
		if n == 0 {
			return usageError(fmt.Errorf("no table %q in the lineage of %s", t, opts.DB))
		}
		matches = append(matches, strings.ReplaceAll(tableMatch, "$table", quoteSQL(t)))
	}
	what := strings.Join(opts.Tables, ", ")
	// Effective access is expanded at class level for exactly the items that
	// show the table's data and the capabilities that show it
	// (model.ExpandAccess), then counted per item; users are expanded only
	// for the allowed rows.
	colCond := "u.column_name IS NULL"
	if opts.Column != "" {
		colCond = "lower(u.column_name) = lower(" + quoteSQL(opts.Column) + ")"
	}
	capCond := "true"
	if opts.Capability != "" {
		capCond = "k.capability = " + quoteSQL(opts.Capability)
	}
	match := "(" + strings.Join(matches, " OR ") + ")"
	upstream := `SELECT u.content_type, u.content_luid, u.database_name, u.schema_name, u.table_name,
			min(u.path) AS path, min(u.via_published_datasource) AS published
		FROM content_upstream_tables u WHERE u.precision = ` + quoteSQL(opts.Precision) + ` AND ` + colCond + ` AND ` + match + `
		GROUP BY ALL`
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE x_upstream AS `+upstream); err != nil {
		return fmt.Errorf("reading the lineage of %s: %w", what, err)
	}
	// Counts need no users: they are summed from the class-level answers;
	// --detail lists the users.
	if _, err := model.ExpandAccess(ctx, conn, "x_exposed", `SELECT DISTINCT u.content_type, u.content_luid AS content_id, k.capability
		FROM x_upstream u JOIN exposure_capabilities k ON k.content_type = u.content_type WHERE `+capCond,
		model.AccessOptions{Decision: "allow", Count: !opts.Detail}); err != nil {
		return fmt.Errorf("querying effective access: %w", err)
	}
	var q string
	if opts.Detail {
		// The user's Connect on the published source the data passes
		// through (spec §11: Tableau may demand it unless the workbook embeds
		// credentials).
		if _, err := model.ExpandAccess(ctx, conn, "x_connect", `SELECT DISTINCT 'datasource' AS content_type, published AS content_id,
			'Connect' AS capability FROM x_upstream WHERE published IS NOT NULL`,
			model.AccessOptions{Users: `SELECT DISTINCT user_id FROM x_exposed`}); err != nil {
			return fmt.Errorf("querying effective access: %w", err)
		}
		q = `SELECT u.database_name, u.schema_name, u.table_name, e.user_name, e.capability, e.content_type AS via_content_type,
				c.name AS via_content_name, c.project_path AS via_project_path, u.path AS via_path, e.reason AS decision_reason,
				CASE WHEN u.published IS NULL OR e.content_type = 'datasource' THEN '' ELSE coalesce(d.decision, 'deny') END AS datasource_connect
			FROM x_exposed e
			JOIN x_upstream u ON u.content_type = e.content_type AND u.content_luid = e.content_id
			JOIN content c ON c.content_type = e.content_type AND c.content_id = e.content_id
			LEFT JOIN x_connect d ON d.user_id = e.user_id AND d.content_id = u.published
			ORDER BY database_name, schema_name, table_name, user_name, capability, via_content_type, via_content_name, via_project_path, via_path`
	} else {
		// Per item: items of the same name in the same project stay apart.
		q = `SELECT u.database_name, u.schema_name, u.table_name, e.content_type AS via_content_type, c.name AS via_content_name,
				c.project_path AS via_project_path, e.capability, e.users, u.path AS via_path, e.content_id AS via_content_id
			FROM (SELECT content_type, content_id, capability, sum(users)::BIGINT AS users FROM x_exposed GROUP BY ALL) e
			JOIN x_upstream u ON u.content_type = e.content_type AND u.content_luid = e.content_id
			JOIN content c ON c.content_type = e.content_type AND c.content_id = e.content_id
			ORDER BY users DESC, database_name, schema_name, table_name, via_content_type, via_content_name, via_project_path, capability, via_path, via_content_id`
	}
	rs, err := conn.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("querying the exposure of %s: %w", what, err)
	}
	defer rs.Close()
	_, err = writeRows(f.IO.Out, format, rs)
	return err
}

// exposureOfUser answers "which tables does U's access expose": the user's
// allowed access (a constant filter, cheap) joined with the lineage.
func exposureOfUser(ctx context.Context, f *Factory, db *sql.DB, opts *exposureOptions, format string) error {
	var id sql.NullString
	if err := db.QueryRowContext(ctx, `SELECT min(id) FROM users WHERE id = $user OR name = $user OR lower(email) = lower($user)`,
		sql.Named("user", opts.User)).Scan(&id); err != nil || !id.Valid {
		return usageError(fmt.Errorf("no user %q in %s (give a name, email or LUID)", opts.User, opts.DB))
	}
	uid := id.String
	capCond, args := "", []any{sql.Named("precision", opts.Precision)}
	if opts.Capability != "" {
		capCond = " AND e.capability = $capability"
		args = append(args, sql.Named("capability", opts.Capability))
	}
	colCond := "c.column_name IS NULL"
	if opts.Column != "" {
		colCond = "lower(c.column_name) = lower($column)"
		args = append(args, sql.Named("column", opts.Column))
	}
	q := `WITH e AS (
			SELECT content_type, content_id, content_name, capability FROM effective_permissions
			WHERE user_id = ` + quoteSQL(uid) + ` AND decision = 'allow' AND basis = 'current')
		SELECT c.database_name, c.schema_name, c.table_name,
			string_agg(DISTINCT e.capability, ', ' ORDER BY e.capability) AS capabilities,
			count(DISTINCT e.content_id) AS via_content_items,
			string_agg(DISTINCT e.content_name, '; ' ORDER BY e.content_name) AS via
		FROM e
		JOIN exposure_capabilities k ON k.content_type = e.content_type AND k.capability = e.capability
		JOIN content_upstream_tables c ON c.content_type = e.content_type AND c.content_luid = e.content_id
		WHERE c.precision = $precision AND ` + colCond + capCond + `
		GROUP BY ALL ORDER BY ALL`
	rs, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("querying the exposure of %s: %w", opts.User, err)
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
