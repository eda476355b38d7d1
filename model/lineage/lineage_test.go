package lineage

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
)

// fixture is the exposure case: hr.salaries reaches a dashboard
// through a published datasource; custom SQL over two tables; a hidden sheet
// used only in a dashboard; a virtual connection; a flow.
const fixture = `
CREATE TABLE lineage_nodes(id VARCHAR, luid VARCHAR, kind VARCHAR, name VARCHAR, database_name VARCHAR, schema VARCHAR,
  full_name VARCHAR, connection_type VARCHAR, project_luid VARCHAR, workbook_luid VARCHAR, path VARCHAR, query VARCHAR,
  obfuscated BOOLEAN, extra_json VARCHAR);
INSERT INTO lineage_nodes (id, luid, kind, name, database_name, schema, workbook_luid, obfuscated) VALUES
 ('db1', 'L-db1', 'database', 'hrdb', NULL, NULL, NULL, false),
 ('t_sal', 'L-t_sal', 'table', 'salaries', 'hrdb', 'hr', NULL, false),
 ('c_sal', NULL, 'column', 'salary', NULL, NULL, NULL, false),
 ('t_emp', 'L-t_emp', 'table', 'employees', 'hrdb', 'hr', NULL, false),
 ('t_dept', 'L-t_dept', 'table', 'departments', 'hrdb', 'hr', NULL, false),
 ('t_out', 'L-t_out', 'table', 'salary_bands', 'hrdb', 'mart', NULL, false),
 ('q1', NULL, 'custom_sql', 'Custom SQL Query', 'hrdb', NULL, NULL, false),
 ('pds', 'L-pds', 'published_datasource', 'HR Salaries', NULL, NULL, NULL, false),
 ('eds', NULL, 'embedded_datasource', 'HR Salaries (embedded)', NULL, NULL, 'L-wb', false),
 ('eds2', NULL, 'embedded_datasource', 'Headcount', NULL, NULL, 'L-wb', false),
 ('wb', 'L-wb', 'workbook', 'People', NULL, NULL, NULL, false),
 ('s_vis', 'L-v1', 'sheet', 'Pay by grade', NULL, NULL, 'L-wb', false),
 ('s_hid', '', 'sheet', 'Hidden detail', NULL, NULL, 'L-wb', false),
 ('s_head', 'L-v3', 'sheet', 'Headcount', NULL, NULL, 'L-wb', false),
 ('dash', 'L-d1', 'dashboard', 'People overview', NULL, NULL, 'L-wb', false),
 ('vc', 'L-vc', 'virtual_connection', 'HR VC', NULL, NULL, NULL, false),
 ('vct', 'L-vct', 'virtual_connection_table', 'salaries', NULL, NULL, NULL, false),
 ('fl', 'L-flow', 'flow', 'Bands', NULL, NULL, NULL, false);
CREATE TABLE lineage_edges(from_id VARCHAR, to_id VARCHAR, relation VARCHAR);
INSERT INTO lineage_edges VALUES
 ('t_sal', 'c_sal', 'table>column'),
 ('t_sal', 'pds', 'table>published_datasource'),
 ('pds', 'eds', 'published_datasource>embedded_datasource'),
 ('eds', 's_hid', 'embedded_datasource>sheet'),
 ('c_sal', 's_hid', 'column>sheet'),
 ('t_sal', 's_hid', 'table>sheet'),
 ('s_hid', 'dash', 'sheet>dashboard'),
 ('t_emp', 'q1', 'table>custom_sql'),
 ('t_dept', 'q1', 'table>custom_sql'),
 ('q1', 'eds2', 'custom_sql>embedded_datasource'),
 ('eds2', 's_head', 'embedded_datasource>sheet'),
 ('t_emp', 's_head', 'table>sheet'),
 ('s_head', 'dash', 'sheet>dashboard'),
 ('eds2', 's_vis', 'embedded_datasource>sheet'),
 ('wb', 's_vis', 'workbook>sheet'), ('wb', 's_hid', 'workbook>sheet'), ('wb', 'dash', 'workbook>dashboard'),
 ('t_sal', 'vct', 'table>virtual_connection_table'),
 ('vc', 'vct', 'virtual_connection>virtual_connection_table'),
 ('t_sal', 'fl', 'table>flow'),
 ('fl', 't_out', 'flow>table');
CREATE TABLE effective_permissions(user_id VARCHAR, user_name VARCHAR, content_type VARCHAR, content_id VARCHAR,
  content_name VARCHAR, project_id VARCHAR, project_path VARCHAR, capability VARCHAR, decision VARCHAR, reason VARCHAR,
  deciding_rule VARCHAR, basis VARCHAR, flags VARCHAR[], confidence VARCHAR);
INSERT INTO effective_permissions VALUES
 ('u1', 'ana', 'view', 'L-d1', 'People overview', 'p', 'HR', 'Read', 'allow', 'GROUP_ALLOW', 'g', 'current', [], 'D'),
 ('u1', 'ana', 'datasource', 'L-pds', 'HR Salaries', 'p', 'HR', 'Connect', 'deny', 'UNSPECIFIED', '', 'current', [], 'D'),
 ('u2', 'ben', 'view', 'L-v1', 'Pay by grade', 'p', 'HR', 'Read', 'allow', 'GROUP_ALLOW', 'g', 'current', [], 'D'),
 ('u3', 'cy', 'datasource', 'L-pds', 'HR Salaries', 'p', 'HR', 'Connect', 'allow', 'USER_ALLOW', 'u', 'current', [], 'D'),
 ('u4', 'dee', 'virtualconnection', 'L-vc', 'HR VC', 'p', 'HR', 'Read', 'allow', 'GROUP_ALLOW', 'g', 'current', [], 'I');
`

func openFixture(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "?autoinstall_known_extensions=false&autoload_known_extensions=false")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, s := range splitStatements(fixture) {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%v\n%s", err, s)
		}
	}
	if err := Build(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	return db
}

func rows(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rs, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	cols, _ := rs.Columns()
	var out []string
	for rs.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			if v == nil {
				parts[i] = "-"
			} else {
				parts[i] = fmt.Sprint(v)
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestContentUpstreamTables(t *testing.T) {
	db := openFixture(t)
	got := rows(t, db, `SELECT content_type, content_luid, precision, schema_name || '.' || table_name, coalesce(column_name, '-')
		FROM content_upstream_tables ORDER BY ALL`)
	want := []string{
		// A flow has no fields: only its input tables, at data-source precision.
		// The hidden sheet has no luid: it reaches people only through the dashboard.
		"datasource|L-pds|datasource|hr.salaries|-",
		"flow|L-flow|datasource|hr.salaries|-",
		"view|L-d1|datasource|hr.departments|-",
		"view|L-d1|datasource|hr.employees|-",
		"view|L-d1|datasource|hr.salaries|-",
		"view|L-d1|fields|hr.employees|-",
		"view|L-d1|fields|hr.salaries|-",
		"view|L-d1|fields|hr.salaries|salary",
		// The visible sheet uses no salary field, but its data source (custom SQL) spans two tables.
		"view|L-v1|datasource|hr.departments|-",
		"view|L-v1|datasource|hr.employees|-",
		"view|L-v3|datasource|hr.departments|-",
		"view|L-v3|datasource|hr.employees|-",
		"view|L-v3|fields|hr.employees|-",
		"virtualconnection|L-vc|datasource|hr.salaries|-",
		"workbook|L-wb|datasource|hr.departments|-",
		"workbook|L-wb|datasource|hr.employees|-",
		"workbook|L-wb|datasource|hr.salaries|-",
		"workbook|L-wb|fields|hr.employees|-",
		"workbook|L-wb|fields|hr.salaries|-",
		"workbook|L-wb|fields|hr.salaries|salary",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("content_upstream_tables:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestTableExposure(t *testing.T) {
	db := openFixture(t)
	got := rows(t, db, `SELECT user_name, via_content_type, via_content_name, capability, precision, coalesce(datasource_connect, '-')
		FROM table_exposure WHERE table_name = 'salaries' AND column_name IS NULL ORDER BY ALL`)
	want := []string{
		// ana opens the dashboard though she may not connect to the published source:
		// she sees its data when the workbook embeds credentials; the row says so.
		"ana|view|People overview|Read|datasource|deny",
		"ana|view|People overview|Read|fields|deny",
		"cy|datasource|HR Salaries|Connect|datasource|-",
		"dee|virtualconnection|HR VC|Read|datasource|-",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("table_exposure:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// ben's sheet uses no salary field and its data source does not reach hr.salaries.
	if n := rows(t, db, `SELECT count(*) FROM table_exposure WHERE user_name = 'ben' AND table_name = 'salaries'`); n[0] != "0" {
		t.Errorf("ben exposed to salaries: %v", n)
	}
}

func TestBuildWithoutLineage(t *testing.T) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := Build(context.Background(), db); err != ErrNoLineage {
		t.Fatalf("Build on a model without lineage = %v, want ErrNoLineage", err)
	}
}
