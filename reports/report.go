package reports

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tabaudit/tabaudit/model"
)

// ErrInput marks errors in what the caller asked for (an unknown format or
// snapshot), as opposed to failures while writing.
var ErrInput = errors.New("invalid report request")

// Formats a report can be written in.
const (
	FormatXLSX = "xlsx"
	FormatCSV  = "csv"
	FormatJSON = "json"
	FormatMD   = "md"
)

// DefaultAccessRows caps "Access by user" in the workbook: one row per user
// and item can run to billions on a large site. Rows past the cap are
// counted and stated, and written whole to CSV when CSV is asked for.
const DefaultAccessRows = 1_000_000

// DefaultFindingRows caps "Findings" in the workbook: a check of a large site
// can find tens of millions of rows (21 million on the L preset), which no
// workbook can usefully hold. The first rows by severity are kept; the rest
// are counted and stated, and written whole to CSV and JSON when asked for.
const DefaultFindingRows = 1_000_000

// DefaultAccessPairs bounds the users × items "Access by user" expands (one
// row per user and item: 95M pairs on an M site). Past the budget it covers
// the first users by name (all their items) and the Summary says how many of
// how many; the rest is one query away (queries/access_of_user.sql).
// "Access by content" counts users at class level and always covers every
// item.
const DefaultAccessPairs = 1_000_000

// ParseFormats reads a comma-separated format list ("xlsx,csv").
func ParseFormats(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		switch f {
		case "":
			continue
		case FormatXLSX, FormatCSV, FormatJSON, FormatMD:
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		default:
			return nil, fmt.Errorf("%w: format %q: want xlsx, csv, json or md", ErrInput, f)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no format given", ErrInput)
	}
	return out, nil
}

// Options say what to write and where.
type Options struct {
	// Out is the workbook's path (report.xlsx). Other files share its stem:
	// report-findings.csv, report.json, report.md.
	Out     string
	Formats []string // default: xlsx
	// SnapshotID picks the snapshot in a history database; "" = the latest.
	SnapshotID string
	// MaxSheetRows is the data rows per sheet before a sheet is split
	// (0: Excel's limit, 1,048,575). Tests lower it.
	MaxSheetRows int
	// AccessRows caps "Access by user" in the workbook (0: DefaultAccessRows,
	// negative: no cap, the sheet is split instead).
	AccessRows int64
	// FindingRows caps "Findings" in the workbook (0: DefaultFindingRows,
	// negative: no cap, the sheet is split instead).
	FindingRows int64
	// AccessPairs is the user × item budget of "Access by user"
	// (0: DefaultAccessPairs, negative: no budget).
	AccessPairs int64
	// TopFindings is how many findings the Markdown lists (0: 50).
	TopFindings int
	ToolVersion string
	CommandLine string
	Now         func() time.Time
	Logger      *slog.Logger
}

// Result says what was written.
type Result struct {
	Files    []string
	Snapshot *SnapshotMeta
	Check    *CheckMeta // nil: no policy check was run
	Sections []SectionStats
	Findings int64
}

func (o *Options) defaults() error {
	if o.Out == "" {
		return fmt.Errorf("%w: no output path", ErrInput)
	}
	if len(o.Formats) == 0 {
		o.Formats = []string{FormatXLSX}
	}
	for _, f := range o.Formats {
		if _, err := ParseFormats(f); err != nil {
			return err
		}
	}
	if o.AccessRows == 0 {
		o.AccessRows = DefaultAccessRows
	}
	if o.FindingRows == 0 {
		o.FindingRows = DefaultFindingRows
	}
	if o.AccessPairs == 0 {
		o.AccessPairs = DefaultAccessPairs
	}
	if o.TopFindings == 0 {
		o.TopFindings = 50
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return nil
}

// outDir creates the folder the report goes to (--out q4/report.xlsx), before
// any work, so that a missing or unwritable folder fails at once rather than
// after the report is built.
func outDir(out string) error {
	dir := filepath.Dir(out)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating the report folder %s: %w", dir, err)
	}
	probe, err := os.CreateTemp(dir, ".tabaudit-write-test-*")
	if err != nil {
		return fmt.Errorf("report folder %s is not writable: %w", dir, err)
	}
	probe.Close()
	return os.Remove(probe.Name())
}

// stem is the output path without the workbook extension.
func stem(out string) string {
	if ext := filepath.Ext(out); strings.EqualFold(ext, ".xlsx") || strings.EqualFold(ext, ".csv") ||
		strings.EqualFold(ext, ".json") || strings.EqualFold(ext, ".md") {
		return strings.TrimSuffix(out, ext)
	}
	return out
}

// Write writes the audit report of the model in db.
func Write(ctx context.Context, db *sql.DB, opts Options) (*Result, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	if err := outDir(opts.Out); err != nil {
		return nil, err
	}
	cat, err := loadCatalog(ctx, db)
	if err != nil {
		return nil, err
	}
	snap, err := loadSnapshotMeta(ctx, db, cat, opts.SnapshotID)
	if err != nil {
		return nil, err
	}
	check, err := loadCheckMeta(ctx, db, cat, snap.ID)
	if err != nil {
		return nil, err
	}
	sum, err := loadSummary(ctx, db, cat)
	if err != nil {
		return nil, err
	}
	r := &reportRun{ctx: ctx, db: db, opts: opts, cat: cat, stem: stem(opts.Out),
		res: &Result{Snapshot: snap, Check: check, Findings: sum.findings}, sum: sum}
	if err := r.run(); err != nil {
		r.cleanup()
		return nil, err
	}
	return r.res, nil
}

type reportRun struct {
	ctx  context.Context
	db   *sql.DB
	opts Options
	cat  catalog
	stem string
	res  *Result
	sum  *summary
	book *workbook
	tmps []string // finished files not yet renamed
}

func (r *reportRun) want(f string) bool { return slices.Contains(r.opts.Formats, f) }

func (r *reportRun) cleanup() {
	for _, t := range r.tmps {
		os.Remove(t)
	}
}

func (r *reportRun) run() error {
	if r.want(FormatXLSX) {
		b, err := newWorkbook(r.opts.MaxSheetRows)
		if err != nil {
			return fmt.Errorf("creating workbook: %w", err)
		}
		defer b.f.Close()
		if err := b.f.SetSheetName("Sheet1", "Summary"); err != nil {
			return err
		}
		r.book = b
	}
	var top *topSink
	// Findings first: JSON and Markdown take their rows from the same pass.
	if r.cat.has("findings") {
		sec := findingsSection(r.cat)
		var extra []sink
		if r.want(FormatJSON) {
			js, err := newJSONSink(r.stem+".json", r.jsonHeader())
			if err != nil {
				return err
			}
			extra = append(extra, js)
		}
		if r.want(FormatMD) {
			top = &topSink{n: r.opts.TopFindings}
			extra = append(extra, top)
		}
		if r.opts.FindingRows > 0 {
			sec.XLSXCap = r.opts.FindingRows
			// Only the workbook and the Markdown's top rows read them: the
			// rows past the cap are counted, not read.
			if !r.want(FormatCSV) && !r.want(FormatJSON) && int64(r.opts.TopFindings) <= r.opts.FindingRows {
				sec.Limit = r.opts.FindingRows
			}
			sec.Note = strings.TrimSpace(sec.Note + fmt.Sprintf(" The workbook holds at most %d findings, the most severe first.", r.opts.FindingRows))
		}
		if err := r.section(sec, extra...); err != nil {
			return err
		}
	} else {
		r.res.Sections = append(r.res.Sections, SectionStats{Key: "findings", Sheet: "Findings", Title: "Findings",
			Missing: "No policy check was run on this snapshot (the database has no findings table): run `tabaudit check`."})
		if r.book != nil {
			if err := r.book.noteSheet("Findings", "No policy check was run on this snapshot.",
				"Run `tabaudit check --db <model> --matrix <policy>` and write the report again to list findings."); err != nil {
				return err
			}
		}
		if r.want(FormatJSON) {
			js, err := newJSONSink(r.stem+".json", r.jsonHeader())
			if err != nil {
				return err
			}
			js.header(nil)
			var st SectionStats
			if err := js.close(&st); err != nil {
				return err
			}
		}
	}
	if r.want(FormatJSON) {
		r.res.Files = append(r.res.Files, r.stem+".json")
	}
	if r.cat.has("finding_causes") {
		if err := r.section(causesSection(r.cat)); err != nil {
			return err
		}
	}
	if r.cat.has("effective_permissions") && r.cat.has("users") && r.cat.has("content") {
		scope, err := r.accessScope()
		if err != nil {
			return err
		}
		restore, err := r.raiseMemory(accessMemory)
		if err != nil {
			return err
		}
		defer restore()
		// Both access sheets and the exposure sheet read effective access
		// expanded at class level (model.ExpandAccess): counted per item
		// without expanding users, or expanded for the users in scope.
		sec := section{Key: "access-by-content", Sheet: "Access by content",
			Title: "Access by content (one row per item and capability: users allowed, and why)",
			Query: accessByContentSQL, Order: accessByContentOrder,
			Prepare: func(ctx context.Context, conn *sql.Conn) error {
				return r.expand(ctx, conn, "r_access_counts", allAccessItems, model.AccessOptions{Decision: "allow", Count: true})
			}}
		if err := r.section(sec); err != nil {
			return err
		}
		{
			sec := section{Key: "access-by-user", Sheet: "Access by user",
				Title: "Access by user (one row per user and item: allowed capabilities)",
				Query: accessByUserSQL, Order: accessByUserOrder, Note: scope.userNote,
				Prepare: func(ctx context.Context, conn *sql.Conn) error {
					return r.expand(ctx, conn, "r_access_users", allAccessItems, model.AccessOptions{Decision: "allow", Users: scope.users})
				}}
			if r.opts.AccessRows > 0 {
				sec.XLSXCap = r.opts.AccessRows
				if !r.want(FormatCSV) {
					sec.Limit = r.opts.AccessRows
				}
				sec.Note = strings.TrimSpace(sec.Note + fmt.Sprintf(" The workbook holds at most %d rows of this sheet.", r.opts.AccessRows))
			}
			if err := r.section(sec); err != nil {
				return err
			}
		}
	} else {
		r.missing("access", "Access", "the database has no effective_permissions, users or content (build it with `tabaudit model`)")
	}
	if r.cat.has("table_exposure") && r.cat.has("content_upstream_tables") {
		if err := r.section(section{Key: "table-exposure", Sheet: "Table exposure",
			Title: "Table exposure (who sees data from each table, through which content)", Query: tableExposureSQL, Order: tableExposureOrder,
			Prepare: func(ctx context.Context, conn *sql.Conn) error {
				return r.expand(ctx, conn, "r_exposure", exposureItems, model.AccessOptions{Decision: "allow", Count: true})
			}}); err != nil {
			return err
		}
	} else {
		r.missing("table-exposure", "Table exposure", "no lineage in this snapshot (extracted without the Metadata API)")
	}
	if sec, ok := hygieneSection(r.cat); ok {
		if err := r.section(sec); err != nil {
			return err
		}
	}
	for _, inv := range inventories {
		if !r.cat.has(inv.rel) {
			r.missing(inv.key, inv.sheet, "the database has no "+inv.rel+" table")
			continue
		}
		if err := r.section(section{Key: inv.key, Sheet: inv.sheet, Title: "Inventory: " + inv.title, Query: inv.sql(r.cat), Order: inv.order}); err != nil {
			return err
		}
	}
	if r.cat.has("policy_rules") {
		if err := r.section(section{Key: "policy", Sheet: "Policy", Title: "Policy: the expected access matrix as evaluated",
			Query: "SELECT * FROM policy_rules", Order: orderBy(r.cat, "policy_rules", "rule_id")}); err != nil {
			return err
		}
	} else if r.book != nil {
		if err := r.book.noteSheet("Policy", "No policy check was run on this snapshot: there is no matrix to show."); err != nil {
			return err
		}
	}
	if r.cat.has("policy_waivers") {
		if err := r.section(section{Key: "waivers", Sheet: "Policy waivers", Title: "Policy waivers",
			Query: "SELECT * FROM policy_waivers", Order: orderBy(r.cat, "policy_waivers", "rule_id")}); err != nil {
			return err
		}
	}
	prov := r.provenance()
	if r.want(FormatCSV) {
		p := r.stem + "-provenance.csv"
		if err := writeKVCSV(p, prov); err != nil {
			return fmt.Errorf("writing %s: %w", p, err)
		}
		r.res.Files = append(r.res.Files, p)
	}
	if r.want(FormatMD) {
		p := r.stem + ".md"
		if err := writeFileAtomic(p, func(w io.Writer) error { return r.markdown(w, top) }); err != nil {
			return fmt.Errorf("writing %s: %w", p, err)
		}
		r.res.Files = append(r.res.Files, p)
	}
	if r.book != nil {
		if err := r.writeSummary(); err != nil {
			return fmt.Errorf("writing the Summary sheet: %w", err)
		}
		if err := r.book.kvSheet("Provenance", prov); err != nil {
			return fmt.Errorf("writing the Provenance sheet: %w", err)
		}
		p := r.stem + ".xlsx"
		if err := r.book.save(p); err != nil {
			return fmt.Errorf("writing %s: %w", p, err)
		}
		r.res.Files = append([]string{p}, r.res.Files...)
	}
	sort.Strings(r.res.Files[min(1, len(r.res.Files)):])
	return nil
}

// accessScope is the part of the site "Access by user" expands: every user
// when users × items fits the budget, else the first users by name (all
// their items), stated in the section's note. "Access by content" counts
// users per item without expanding them and always covers the whole site.
type accessScope struct {
	users    string // "" (everybody) or a query of user ids (column user_id)
	userNote string
}

func (r *reportRun) accessScope() (accessScope, error) {
	var sc accessScope
	var users, items int64
	if err := r.db.QueryRowContext(r.ctx, `SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM content)`).Scan(&users, &items); err != nil {
		return sc, fmt.Errorf("counting users and items: %w", err)
	}
	budget := r.opts.AccessPairs
	if budget < 0 || users*items <= budget {
		return sc, nil
	}
	nu := max(budget/max(items, 1), 1)
	sc.users = fmt.Sprintf("SELECT id AS user_id FROM users ORDER BY name, id LIMIT %d", nu)
	sc.userNote = fmt.Sprintf("COVERS the first %d of %d users by name (a budget of %d user × item pairs: --access-pairs); "+
		"query effective_permissions or run `tabaudit query access_of_user` for the others.", min(nu, users), users, budget)
	return sc, nil
}

// expand fills dst with allowed current access for items: at class level
// from a model database built by tabaudit, or, for a database that offers
// only the contract's effective_permissions relation, by filtering it.
func (r *reportRun) expand(ctx context.Context, conn *sql.Conn, dst, items string, opts model.AccessOptions) error {
	if r.cat.has("m_user_basis") && r.cat.has("m_content") {
		_, err := model.ExpandAccess(ctx, conn, dst, items, opts)
		return err
	}
	if items == allAccessItems {
		items = `SELECT DISTINCT content_type, content_id, capability FROM effective_permissions`
	}
	users := ""
	if opts.Users != "" {
		users = " AND e.user_id IN (SELECT user_id FROM (" + opts.Users + "))"
	}
	q := `SELECT e.user_id, e.user_name, e.content_type, e.content_id, e.capability, e.decision, e.reason, e.deciding_rule, e.confidence, e.flags
		FROM effective_permissions e SEMI JOIN (` + items + `) s ON s.content_type = e.content_type AND s.content_id = e.content_id
			AND s.capability = e.capability
		WHERE e.decision = 'allow' AND e.basis = 'current'` + users
	if opts.Count {
		q = `SELECT content_type, content_id, capability, decision, reason, count(DISTINCT user_id) AS users FROM (` + q + `) GROUP BY ALL`
	}
	if _, err := conn.ExecContext(ctx, `CREATE OR REPLACE TEMP TABLE `+dst+` AS `+q); err != nil {
		return fmt.Errorf("reading effective_permissions: %w", err)
	}
	return nil
}

// accessMemory is DuckDB's memory limit while the access and exposure
// sheets are computed: grouping a user's capabilities per item does not
// spill, and the budget of "Access by user" (DefaultAccessPairs) is sized
// to fit in it. The findings sheets keep the caller's lower limit.
const accessMemory = 4 << 30

// raiseMemory lifts DuckDB's memory limit to at least limit bytes and
// returns what puts it back.
func (r *reportRun) raiseMemory(limit int64) (func(), error) {
	var cur string
	if err := r.db.QueryRowContext(r.ctx, `SELECT current_setting('memory_limit')`).Scan(&cur); err != nil {
		return nil, fmt.Errorf("reading the memory limit: %w", err)
	}
	if n, ok := parseSize(cur); ok && n >= limit {
		return func() {}, nil
	}
	if _, err := r.db.ExecContext(r.ctx, fmt.Sprintf(`SET memory_limit = '%dMB'`, limit>>20)); err != nil {
		return nil, fmt.Errorf("setting the memory limit: %w", err)
	}
	return func() {
		_, _ = r.db.ExecContext(context.WithoutCancel(r.ctx), `SET memory_limit = '`+strings.ReplaceAll(cur, "'", "")+`'`)
	}, nil
}

// parseSize reads DuckDB's rendering of a size ("488.2 MiB", "19.2 GiB").
func parseSize(s string) (int64, bool) {
	var v float64
	var unit string
	if _, err := fmt.Sscanf(s, "%g %s", &v, &unit); err != nil {
		return 0, false
	}
	mult := map[string]float64{"bytes": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
		"KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}[unit]
	if mult == 0 {
		return 0, false
	}
	return int64(v * mult), true
}

func (r *reportRun) missing(key, sheet, why string) {
	r.res.Sections = append(r.res.Sections, SectionStats{Key: key, Sheet: sheet, Title: sheet, Missing: why})
}

// section writes one section to every format that wants it.
func (r *reportRun) section(sec section, extra ...sink) error {
	start := time.Now()
	var sinks []sink
	if r.book != nil {
		sinks = append(sinks, r.book.sink(sec))
	}
	var cs *csvSink
	if r.want(FormatCSV) {
		var err error
		if cs, err = newCSVSink(r.stem + "-" + sec.Key + ".csv"); err != nil {
			return fmt.Errorf("writing %s: %w", sec.Title, err)
		}
		sinks = append(sinks, cs)
	}
	sinks = append(sinks, extra...)
	st, err := runSection(r.ctx, r.db, sec, sinks...)
	if err != nil {
		if cs != nil {
			cs.abort()
		}
		for _, s := range extra {
			if a, ok := s.(interface{ abort() }); ok {
				a.abort()
			}
		}
		return err
	}
	st.Capped = r.book != nil && st.XLSXRows < st.Rows
	if st.CSVFile != "" {
		r.res.Files = append(r.res.Files, st.CSVFile)
	}
	r.res.Sections = append(r.res.Sections, st)
	r.opts.Logger.Info("report section written", "section", sec.Key, "rows", st.Rows, "xlsx_rows", st.XLSXRows,
		"sheets", len(st.Sheets), "duration", time.Since(start).Round(time.Millisecond))
	return nil
}

// writeFileAtomic writes a file under a temporary name and renames it when
// complete, so an interrupted run never leaves a file that looks finished.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	err = write(tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

func sortStrings(s []string) { sort.Strings(s) }
