package cli

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
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
	if opts.User != "" {
		return exposureOfUser(ctx, f, db, opts, format)
	}
	n, err := matchingTables(ctx, db, opts.Table)
	if err != nil {
		return err
	}
	if n == 0 {
		return usageError(fmt.Errorf("no table %q in the lineage of %s", opts.Table, opts.DB))
	}
	// The content that shows the table's data comes first, then the people
	// allowed on it, asked for by constant item lists: a join-driven filter
	// on the effective_permissions view would evaluate the whole site.
	contentArgs := []any{sql.Named("precision", opts.Precision), sql.Named("table", opts.Table)}
	colCond := "column_name IS NULL"
	if opts.Column != "" {
		colCond = "lower(column_name) = lower($column)"
		contentArgs = append(contentArgs, sql.Named("column", opts.Column))
	}
	rows, err := db.QueryContext(ctx, `SELECT content_type, content_luid, database_name, schema_name, table_name, min(path), min(via_published_datasource)
		FROM content_upstream_tables WHERE precision = $precision AND `+colCond+` AND `+tableMatch+`
		GROUP BY ALL ORDER BY ALL`, contentArgs...)
	if err != nil {
		return fmt.Errorf("reading the lineage of %s: %w", opts.Table, err)
	}
	type via struct{ typ, id, db, schema, table, path, published string }
	var vias []via
	for rows.Next() {
		var v via
		var pub sql.NullString
		var dbn, sch, tbl sql.NullString
		if err := rows.Scan(&v.typ, &v.id, &dbn, &sch, &tbl, &v.path, &pub); err != nil {
			rows.Close()
			return err
		}
		v.db, v.schema, v.table, v.published = dbn.String, sch.String, tbl.String, pub.String
		vias = append(vias, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	capCond := "TRUE"
	capArgs := []any{}
	if opts.Capability != "" {
		capCond = "e.capability = $capability"
		capArgs = append(capArgs, sql.Named("capability", opts.Capability))
	}
	var cols []string
	if opts.Detail {
		cols = []string{"database_name", "schema_name", "table_name", "user_name", "capability", "via_content_type", "via_content_name", "via_project_path", "via_path", "decision_reason", "datasource_connect"}
	} else {
		cols = []string{"database_name", "schema_name", "table_name", "via_content_type", "via_content_name", "via_project_path", "capability", "users", "via_path"}
	}
	var out [][]any
	const chunk = 400
	for start := 0; start < len(vias); start += chunk {
		part := vias[start:min(start+chunk, len(vias))]
		ids := make([]string, len(part))
		byID := map[string][]via{}
		for i, v := range part {
			ids[i] = quoteSQL(v.id)
			byID[v.typ+"|"+v.id] = append(byID[v.typ+"|"+v.id], v)
		}
		q := `SELECT e.user_id, e.user_name, e.content_type, e.content_id, e.content_name, e.project_path, e.capability, e.reason
			FROM effective_permissions e
			JOIN exposure_capabilities k ON k.content_type = e.content_type AND k.capability = e.capability
			WHERE e.content_id IN (` + strings.Join(ids, ",") + `) AND e.decision = 'allow' AND e.basis = 'current' AND ` + capCond
		rs, err := db.QueryContext(ctx, q, capArgs...)
		if err != nil {
			return fmt.Errorf("querying effective access: %w", err)
		}
		type key struct{ typ, id, cap string }
		users := map[key]map[string]bool{}
		names := map[key][2]string{}
		for rs.Next() {
			var uid, uname, typ, id, cname, ppath, capability, reason string
			var pp sql.NullString
			if err := rs.Scan(&uid, &uname, &typ, &id, &cname, &pp, &capability, &reason); err != nil {
				rs.Close()
				return err
			}
			ppath = pp.String
			vs := byID[typ+"|"+id]
			if len(vs) == 0 {
				continue
			}
			if opts.Detail {
				for _, v := range vs {
					conn := ""
					if v.published != "" && typ != "datasource" {
						conn = datasourceConnect(ctx, db, uid, v.published)
					}
					out = append(out, []any{v.db, v.schema, v.table, uname, capability, typ, cname, ppath, v.path, reason, conn})
				}
				continue
			}
			k := key{typ, id, capability}
			if users[k] == nil {
				users[k] = map[string]bool{}
			}
			users[k][uid] = true
			names[k] = [2]string{cname, ppath}
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return err
		}
		for k, us := range users {
			for _, v := range byID[k.typ+"|"+k.id] {
				out = append(out, []any{v.db, v.schema, v.table, k.typ, names[k][0], names[k][1], k.cap, int64(len(us)), v.path})
			}
		}
	}
	sortExposure(out, opts.Detail)
	return writeTable(f.IO.Out, format, cols, out)
}

// datasourceConnect is the user's Connect on the published source the data
// passes through (spec §11: Tableau may demand it unless credentials are
// embedded).
func datasourceConnect(ctx context.Context, db *sql.DB, userID, dsID string) string {
	var d sql.NullString
	err := db.QueryRowContext(ctx, `SELECT any_value(decision) FROM effective_permissions WHERE user_id = `+quoteSQL(userID)+
		` AND content_type = 'datasource' AND content_id = `+quoteSQL(dsID)+` AND capability = 'Connect' AND basis = 'current'`).Scan(&d)
	if err != nil || !d.Valid {
		return "deny"
	}
	return d.String
}

func sortExposure(rows [][]any, detail bool) {
	slices.SortFunc(rows, func(a, b []any) int {
		if !detail {
			// most users first
			if c := cmp.Compare(b[7].(int64), a[7].(int64)); c != 0 {
				return c
			}
		}
		return strings.Compare(fmt.Sprint(a...), fmt.Sprint(b...))
	})
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
