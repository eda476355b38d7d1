package reports

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// DiffSide names one side of a comparison: a catalog (an ATTACHed model
// database) holding the relations of docs/contracts.md.
type DiffSide struct {
	Catalog string // e.g. "old"; the relations are read as <catalog>.users
	Label   string // shown in reports; default: the snapshot id
}

// DiffOptions say what to write and where; see Options.
type DiffOptions struct {
	Out          string
	Formats      []string
	MaxSheetRows int
	ToolVersion  string
	CommandLine  string
	Now          func() time.Time
}

// DiffResult says what changed and what was written.
type DiffResult struct {
	Files    []string
	From, To *SnapshotMeta
	Sections []SectionStats
	// Counts is the number of changes by section and kind of change
	// ("users" → "role changed" → 1).
	Counts map[string]map[string]int64
}

// diffSection is a change section: rows with a `change` column, computed
// into a table of the scratch database first so that the summary counts and
// the rows written come from the same data.
type diffSection struct {
	key, sheet, title string
	sql               string // SELECT producing the rows; %[1]s old catalog, %[2]s new catalog
	order             string
}

// allows is the set of current allows on one side, one row per user, item and
// capability.
const allowsSQL = `SELECT user_id, any_value(user_name) AS user_name, content_type, content_id,
	any_value(content_name) AS content_name, any_value(project_path) AS project_path, capability, any_value(reason) AS reason
	FROM %s.effective_permissions WHERE decision = 'allow' AND basis = 'current'
	GROUP BY user_id, content_type, content_id, capability`

var diffSections = []diffSection{
	{key: "access", sheet: "Access changes", title: "Access gained and lost (one row per user, item and change)",
		sql: `WITH o AS (` + fmt.Sprintf(allowsSQL, "%[1]s") + `), n AS (` + fmt.Sprintf(allowsSQL, "%[2]s") + `),
		d AS (SELECT 'gained' AS change, n.* FROM n ANTI JOIN o USING (user_id, content_type, content_id, capability)
		      UNION ALL SELECT 'lost' AS change, o.* FROM o ANTI JOIN n USING (user_id, content_type, content_id, capability))
		SELECT change, any_value(user_name) AS user_name, content_type, any_value(content_name) AS content_name,
		       any_value(project_path) AS project_path, string_agg(capability, ', ' ORDER BY capability) AS capabilities_changed,
		       string_agg(DISTINCT reason, ', ' ORDER BY reason) AS reasons, user_id, content_id
		FROM d GROUP BY change, user_id, content_type, content_id`,
		order: "user_name, user_id, project_path NULLS FIRST, content_type, content_name, content_id, change"},
	{key: "rules", sheet: "Rule changes", title: "Permission rules added, removed or changed",
		sql: `WITH o AS (SELECT * FROM %[1]s.permission_rules), n AS (SELECT * FROM %[2]s.permission_rules),
		k AS (SELECT coalesce(n.object_type, o.object_type) AS object_type, coalesce(n.object_id, o.object_id) AS object_id,
		             coalesce(n.grantee_type, o.grantee_type) AS grantee_type, coalesce(n.grantee_id, o.grantee_id) AS grantee_id,
		             coalesce(n.capability, o.capability) AS capability, coalesce(n.rule_set, o.rule_set) AS rule_set,
		             o.mode AS before, n.mode AS after
		      FROM o FULL JOIN n ON o.object_type = n.object_type AND o.object_id = n.object_id AND o.grantee_type = n.grantee_type
		        AND o.grantee_id = n.grantee_id AND o.capability = n.capability AND o.rule_set IS NOT DISTINCT FROM n.rule_set
		      WHERE o.mode IS DISTINCT FROM n.mode)
		SELECT CASE WHEN before IS NULL THEN 'added' WHEN after IS NULL THEN 'removed' ELSE 'changed' END AS change,
		       k.object_type, coalesce((SELECT any_value(c.name) FROM %[2]s.content c WHERE c.content_id = k.object_id),
		                               (SELECT any_value(c.name) FROM %[1]s.content c WHERE c.content_id = k.object_id)) AS object_name,
		       coalesce((SELECT any_value(c.project_path) FROM %[2]s.content c WHERE c.content_id = k.object_id),
		                (SELECT any_value(c.project_path) FROM %[1]s.content c WHERE c.content_id = k.object_id)) AS project_path,
		       k.grantee_type,
		       coalesce((SELECT any_value(g.name) FROM %[2]s.groups g WHERE g.id = k.grantee_id),
		                (SELECT any_value(u.name) FROM %[2]s.users u WHERE u.id = k.grantee_id),
		                (SELECT any_value(s.name) FROM %[2]s.group_sets s WHERE s.id = k.grantee_id),
		                (SELECT any_value(g.name) FROM %[1]s.groups g WHERE g.id = k.grantee_id),
		                (SELECT any_value(u.name) FROM %[1]s.users u WHERE u.id = k.grantee_id),
		                (SELECT any_value(s.name) FROM %[1]s.group_sets s WHERE s.id = k.grantee_id)) AS grantee_name,
		       k.capability, k.rule_set, k.before, k.after, k.object_id, k.grantee_id
		FROM k`,
		order: "project_path NULLS FIRST, object_type, object_name, object_id, rule_set, grantee_type, grantee_name, capability"},
	{key: "users", sheet: "User changes", title: "Users added, removed, renamed or with a new site role",
		sql: `WITH o AS (SELECT * FROM %[1]s.users), n AS (SELECT * FROM %[2]s.users)
		SELECT 'added' AS change, n.name AS user_name, NULL AS before, n.site_role AS after, n.id AS user_id FROM n ANTI JOIN o ON o.id = n.id
		UNION ALL SELECT 'removed', o.name, o.site_role, NULL, o.id FROM o ANTI JOIN n ON o.id = n.id
		UNION ALL SELECT 'role changed', n.name, o.site_role, n.site_role, n.id FROM o JOIN n ON o.id = n.id WHERE o.site_role IS DISTINCT FROM n.site_role
		UNION ALL SELECT 'renamed', n.name, o.name, n.name, n.id FROM o JOIN n ON o.id = n.id WHERE o.name IS DISTINCT FROM n.name`,
		order: "user_name, user_id, change"},
	{key: "groups", sheet: "Group changes", title: "Groups added, removed or renamed",
		sql: `WITH o AS (SELECT * FROM %[1]s.groups), n AS (SELECT * FROM %[2]s.groups)
		SELECT 'added' AS change, n.name AS group_name, NULL AS before, NULL AS after, n.id AS group_id FROM n ANTI JOIN o ON o.id = n.id
		UNION ALL SELECT 'removed', o.name, NULL, NULL, o.id FROM o ANTI JOIN n ON o.id = n.id
		UNION ALL SELECT 'renamed', n.name, o.name, n.name, n.id FROM o JOIN n ON o.id = n.id WHERE o.name IS DISTINCT FROM n.name
		UNION ALL SELECT 'minimum site role changed', n.name, o.minimum_site_role, n.minimum_site_role, n.id FROM o JOIN n ON o.id = n.id
		  WHERE o.minimum_site_role IS DISTINCT FROM n.minimum_site_role`,
		order: "group_name, group_id, change"},
	{key: "memberships", sheet: "Membership changes", title: "Group memberships added or removed",
		sql: `WITH o AS (SELECT DISTINCT group_id, user_id FROM %[1]s.group_members), n AS (SELECT DISTINCT group_id, user_id FROM %[2]s.group_members),
		d AS (SELECT 'added' AS change, * FROM n ANTI JOIN o USING (group_id, user_id)
		      UNION ALL SELECT 'removed', * FROM o ANTI JOIN n USING (group_id, user_id))
		SELECT d.change,
		       coalesce((SELECT any_value(name) FROM %[2]s.groups g WHERE g.id = d.group_id), (SELECT any_value(name) FROM %[1]s.groups g WHERE g.id = d.group_id)) AS group_name,
		       coalesce((SELECT any_value(name) FROM %[2]s.users u WHERE u.id = d.user_id), (SELECT any_value(name) FROM %[1]s.users u WHERE u.id = d.user_id)) AS user_name,
		       d.group_id, d.user_id
		FROM d`,
		order: "group_name, group_id, user_name, user_id, change"},
	{key: "content", sheet: "Content changes", title: "Content added, removed, moved, renamed or with a new owner",
		sql: `WITH o AS (SELECT * FROM %[1]s.content), n AS (SELECT * FROM %[2]s.content)
		SELECT 'added' AS change, n.content_type, n.name, NULL AS before, n.project_path AS after, n.content_id FROM n ANTI JOIN o ON o.content_type = n.content_type AND o.content_id = n.content_id
		UNION ALL SELECT 'removed', o.content_type, o.name, o.project_path, NULL, o.content_id FROM o ANTI JOIN n ON o.content_type = n.content_type AND o.content_id = n.content_id
		UNION ALL SELECT 'moved', n.content_type, n.name, o.project_path, n.project_path, n.content_id FROM o JOIN n USING (content_type, content_id)
		  WHERE o.project_id IS DISTINCT FROM n.project_id OR o.project_path IS DISTINCT FROM n.project_path
		UNION ALL SELECT 'renamed', n.content_type, n.name, o.name, n.name, n.content_id FROM o JOIN n USING (content_type, content_id) WHERE o.name IS DISTINCT FROM n.name
		UNION ALL SELECT 'owner changed', n.content_type, n.name,
		  coalesce((SELECT any_value(u.name) FROM %[1]s.users u WHERE u.id = o.owner_id), o.owner_id),
		  coalesce((SELECT any_value(u.name) FROM %[2]s.users u WHERE u.id = n.owner_id), n.owner_id), n.content_id
		  FROM o JOIN n USING (content_type, content_id) WHERE o.owner_id IS DISTINCT FROM n.owner_id`,
		order: "content_type, name, content_id, change"},
}

// The per-user and per-item views of access changes aggregate the access
// section's table.
var diffAggregates = []diffSection{
	{key: "access-by-user", sheet: "Access changes by user", title: "Access changes per user (items gained and lost)",
		sql: `SELECT coalesce(max(user_name) FILTER (WHERE change = 'gained'), max(user_name)) AS user_name,
		  count(DISTINCT (content_type, content_id)) FILTER (WHERE change = 'gained') AS items_gained,
		  count(DISTINCT (content_type, content_id)) FILTER (WHERE change = 'lost') AS items_lost, user_id
		  FROM diff_access GROUP BY user_id`,
		order: "user_name, user_id"},
	{key: "access-by-item", sheet: "Access changes by item", title: "Access changes per item (users gained and lost)",
		sql: `SELECT content_type, coalesce(max(content_name) FILTER (WHERE change = 'gained'), max(content_name)) AS content_name,
		  coalesce(max(project_path) FILTER (WHERE change = 'gained'), max(project_path)) AS project_path,
		  count(DISTINCT user_id) FILTER (WHERE change = 'gained') AS users_gained,
		  count(DISTINCT user_id) FILTER (WHERE change = 'lost') AS users_lost, content_id
		  FROM diff_access GROUP BY content_type, content_id`,
		order: "project_path NULLS FIRST, content_type, content_name, content_id"},
}

// Diff compares two model databases attached to db as from.Catalog and
// to.Catalog, and writes the change report. It creates its working tables
// (diff_*) in db's default catalog, which must be writable (an in-memory
// database is the usual choice).
func Diff(ctx context.Context, db *sql.DB, from, to DiffSide, opts DiffOptions) (*DiffResult, error) {
	if opts.Out == "" {
		return nil, fmt.Errorf("%w: no output path", ErrInput)
	}
	if err := outDir(opts.Out); err != nil {
		return nil, err
	}
	if len(opts.Formats) == 0 {
		opts.Formats = []string{FormatXLSX}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	res := &DiffResult{Counts: map[string]map[string]int64{}}
	var err error
	for i, side := range []DiffSide{from, to} {
		cat, err := loadCatalogOf(ctx, db, side.Catalog)
		if err != nil {
			return nil, err
		}
		for _, rel := range []string{"users", "groups", "group_members", "group_sets", "permission_rules", "content", "effective_permissions"} {
			if !cat.has(rel) {
				return nil, fmt.Errorf("%w: %s has no %s: build it with `tabaudit model`", ErrInput, side.Label, rel)
			}
		}
		meta, err := loadSnapshotMetaOf(ctx, db, cat, side.Catalog)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			res.From = meta
		} else {
			res.To = meta
		}
	}
	q := func(s string) string {
		if !strings.Contains(s, "%[") {
			return s
		}
		return fmt.Sprintf(s, quoteIdent(from.Catalog), quoteIdent(to.Catalog))
	}
	all := append(append([]diffSection(nil), diffSections...), diffAggregates...)
	for _, s := range all {
		tbl := "diff_" + strings.ReplaceAll(s.key, "-", "_")
		if _, err := db.ExecContext(ctx, "CREATE OR REPLACE TABLE "+tbl+" AS "+q(s.sql)); err != nil {
			return nil, fmt.Errorf("comparing %s: %w", s.title, err)
		}
		if !strings.HasPrefix(s.key, "access-") {
			rs, err := db.QueryContext(ctx, "SELECT change, count(*) FROM "+tbl+" GROUP BY change ORDER BY change")
			if err != nil {
				return nil, fmt.Errorf("counting %s: %w", s.title, err)
			}
			m := map[string]int64{}
			for rs.Next() {
				var c string
				var n int64
				if err := rs.Scan(&c, &n); err != nil {
					rs.Close()
					return nil, err
				}
				m[c] = n
			}
			rs.Close()
			if err := rs.Err(); err != nil {
				return nil, err
			}
			res.Counts[s.key] = m
		}
	}
	w := &diffRun{ctx: ctx, db: db, opts: opts, res: res, stem: stem(opts.Out)}
	if err = w.write(all); err != nil {
		return nil, err
	}
	return res, nil
}

func loadCatalogOf(ctx context.Context, db *sql.DB, catalogName string) (catalog, error) {
	rs, err := db.QueryContext(ctx, `SELECT table_name, column_name FROM duckdb_columns()
		WHERE NOT internal AND database_name = $1 AND schema_name = 'main' ORDER BY table_name, column_index`, catalogName)
	if err != nil {
		return nil, fmt.Errorf("listing the relations of %s: %w", catalogName, err)
	}
	defer rs.Close()
	c := catalog{}
	for rs.Next() {
		var t, col string
		if err := rs.Scan(&t, &col); err != nil {
			return nil, err
		}
		c[t] = append(c[t], col)
	}
	return c, rs.Err()
}

func loadSnapshotMetaOf(ctx context.Context, db *sql.DB, cat catalog, catalogName string) (*SnapshotMeta, error) {
	if !cat.has("snapshot_info") {
		return &SnapshotMeta{ID: catalogName, Verdict: "Unknown: no snapshot_info."}, nil
	}
	m, err := rowMap(ctx, db, "snapshot_info of "+catalogName,
		"SELECT * FROM "+quoteIdent(catalogName)+".snapshot_info ORDER BY started_at DESC LIMIT 1")
	if err != nil || m == nil {
		return &SnapshotMeta{ID: catalogName, Verdict: "Unknown: snapshot_info is empty."}, err
	}
	s := &SnapshotMeta{ID: str(m, "snapshot_id"), SiteName: str(m, "site_name"), SiteContentURL: str(m, "site_content_url"),
		ServerURL: str(m, "server_url"), StartedAt: str(m, "started_at"), FinishedAt: str(m, "finished_at"),
		Complete: boolean(m, "complete"), AllowedIncomplete: boolean(m, "allowed_incomplete")}
	s.Verdict = verdict(s)
	return s, nil
}

type diffRun struct {
	ctx  context.Context
	db   *sql.DB
	opts DiffOptions
	res  *DiffResult
	stem string
}

func (d *diffRun) want(f string) bool { return slices.Contains(d.opts.Formats, f) }

func (d *diffRun) write(all []diffSection) error {
	var book *workbook
	if d.want(FormatXLSX) {
		b, err := newWorkbook(d.opts.MaxSheetRows)
		if err != nil {
			return err
		}
		defer b.f.Close()
		if err := b.f.SetSheetName("Sheet1", "Summary"); err != nil {
			return err
		}
		book = b
	}
	tops := map[string]*topSink{}
	for _, s := range all {
		tbl := "diff_" + strings.ReplaceAll(s.key, "-", "_")
		sec := section{Key: s.key, Sheet: s.sheet, Title: s.title, Query: "SELECT * FROM " + tbl, Order: s.order}
		var sinks []sink
		if book != nil {
			sinks = append(sinks, book.sink(sec))
		}
		var cs *csvSink
		if d.want(FormatCSV) {
			var err error
			if cs, err = newCSVSink(d.stem + "-" + s.key + ".csv"); err != nil {
				return err
			}
			sinks = append(sinks, cs)
		}
		if d.want(FormatMD) {
			tops[s.key] = &topSink{n: 50}
			sinks = append(sinks, tops[s.key])
		}
		st, err := runSection(d.ctx, d.db, sec, sinks...)
		if err != nil {
			if cs != nil {
				cs.abort()
			}
			return err
		}
		st.Capped = book != nil && st.XLSXRows < st.Rows
		if st.CSVFile != "" {
			d.res.Files = append(d.res.Files, st.CSVFile)
		}
		d.res.Sections = append(d.res.Sections, st)
	}
	if d.want(FormatJSON) {
		p := d.stem + ".json"
		if err := writeFileAtomic(p, func(w io.Writer) error { return d.json(w, all) }); err != nil {
			return fmt.Errorf("writing %s: %w", p, err)
		}
		d.res.Files = append(d.res.Files, p)
	}
	if d.want(FormatMD) {
		p := d.stem + ".md"
		if err := writeFileAtomic(p, func(w io.Writer) error { return d.markdown(w, tops) }); err != nil {
			return fmt.Errorf("writing %s: %w", p, err)
		}
		d.res.Files = append(d.res.Files, p)
	}
	if book != nil {
		if err := d.summarySheet(book); err != nil {
			return fmt.Errorf("writing the Summary sheet: %w", err)
		}
		p := d.stem + ".xlsx"
		if err := book.save(p); err != nil {
			return fmt.Errorf("writing %s: %w", p, err)
		}
		d.res.Files = append([]string{p}, d.res.Files...)
	}
	return nil
}

// countLines are the Summary's change counts, in a fixed order.
func (d *diffRun) countLines() []kv {
	var out []kv
	for _, s := range diffSections {
		m := d.res.Counts[s.key]
		changes := make([]string, 0, len(m))
		for c := range m {
			changes = append(changes, c)
		}
		sortStrings(changes)
		var parts []string
		for _, c := range changes {
			parts = append(parts, fmt.Sprintf("%d %s", m[c], c))
		}
		v := "no change"
		if len(parts) > 0 {
			v = strings.Join(parts, ", ")
		}
		out = append(out, kv{s.sheet, v})
	}
	return out
}

func sideLine(s *SnapshotMeta) string {
	if s == nil {
		return ""
	}
	return strings.TrimSpace(fmt.Sprintf("%s (site %s, taken %s) — %s", s.ID, s.SiteName, s.StartedAt, s.Verdict))
}

func (d *diffRun) summarySheet(b *workbook) error {
	sh := "Summary"
	if err := b.f.SetColWidth(sh, "A", "A", 30); err != nil {
		return err
	}
	if err := b.f.SetColWidth(sh, "B", "B", 110); err != nil {
		return err
	}
	row := 1
	if err := b.setText(sh, 1, row, "Tableau access changes", b.title); err != nil {
		return err
	}
	row += 2
	lines := []kv{{"From", sideLine(d.res.From)}, {"To", sideLine(d.res.To)},
		{"Report written", timeText(d.opts.Now()) + " by tabaudit " + d.opts.ToolVersion}, {"Command line", d.opts.CommandLine}, {"", ""}}
	lines = append(lines, d.countLines()...)
	lines = append(lines, kv{"", ""}, kv{"Sheets and files", ""})
	for _, st := range d.res.Sections {
		lines = append(lines, kv{st.Title, fmt.Sprintf("%d rows; %s", st.Rows, sectionWhere(st, b.maxRows))})
	}
	for _, l := range lines {
		if err := b.setText(sh, 1, row, l.Key, b.bold); err != nil {
			return err
		}
		if err := b.setText(sh, 2, row, l.Value, 0); err != nil {
			return err
		}
		row++
	}
	return nil
}

func (d *diffRun) markdown(w io.Writer, tops map[string]*topSink) error {
	m := &mdWriter{w: bufio.NewWriter(w)}
	m.printf("# Tableau access changes\n\n")
	m.table([]string{"Compared", ""}, [][]string{
		{"From", mdEscape(sideLine(d.res.From))}, {"To", mdEscape(sideLine(d.res.To))},
		{"Report written", mdEscape(timeText(d.opts.Now()) + " by tabaudit " + d.opts.ToolVersion)},
	})
	var rows [][]string
	for _, l := range d.countLines() {
		rows = append(rows, []string{mdEscape(l.Key), mdEscape(l.Value)})
	}
	m.table([]string{"Changes", ""}, rows)
	for _, st := range d.res.Sections {
		top := tops[st.Key]
		if top == nil || len(top.rows) == 0 {
			continue
		}
		if int64(len(top.rows)) < st.Rows {
			m.printf("## %s (first %d of %d)\n\n", mdEscape(st.Title), len(top.rows), st.Rows)
		} else {
			m.printf("## %s\n\n", mdEscape(st.Title))
		}
		var head []string
		keep := []int{}
		for i, c := range top.cols {
			if strings.HasSuffix(c, "_id") { // LUIDs are in the workbook and CSV
				continue
			}
			keep = append(keep, i)
			head = append(head, mdEscape(headerName(c)))
		}
		rows = nil
		for _, r := range top.rows {
			var row []string
			for _, i := range keep {
				row = append(row, mdEscape(textOf(r[i])))
			}
			rows = append(rows, row)
		}
		m.table(head, rows)
	}
	if err := m.w.Flush(); m.err == nil {
		m.err = err
	}
	return m.err
}
