package reports

import (
	"context"
	"database/sql"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// rowIter streams a query's rows as normalised cell values: string, int64,
// float64 or nil. Strings are what came from the database, unguarded; each
// writer applies its own guard (see the package comment).
type rowIter struct {
	rs   *sql.Rows
	cols []string
	vals []any
	ptrs []any
	out  []any
	err  error
}

func query(ctx context.Context, db *sql.DB, what, q string, args ...any) (*rowIter, error) {
	rs, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("querying %s: %w", what, err)
	}
	cols, err := rs.Columns()
	if err != nil {
		rs.Close()
		return nil, fmt.Errorf("querying %s: %w", what, err)
	}
	it := &rowIter{rs: rs, cols: cols, vals: make([]any, len(cols)), ptrs: make([]any, len(cols)), out: make([]any, len(cols))}
	for i := range it.vals {
		it.ptrs[i] = &it.vals[i]
	}
	return it, nil
}

// next advances; the returned slice is reused by the next call.
func (it *rowIter) next() ([]any, bool) {
	if it.err != nil || !it.rs.Next() {
		return nil, false
	}
	if err := it.rs.Scan(it.ptrs...); err != nil {
		it.err = err
		return nil, false
	}
	for i, v := range it.vals {
		it.out[i] = cellValue(v)
	}
	return it.out, true
}

// close returns the error that ended the iteration, so a result cut off
// mid-stream is an error rather than a short sheet.
func (it *rowIter) close() error {
	err := it.err
	if err == nil {
		err = it.rs.Err()
	}
	if cerr := it.rs.Close(); err == nil {
		err = cerr
	}
	return err
}

// cellValue maps a DuckDB value to string, int64, float64 or nil.
func cellValue(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		return x
	case []byte:
		return string(x)
	case int64:
		return x
	case int32:
		return int64(x)
	case int16:
		return int64(x)
	case int8:
		return int64(x)
	case int:
		return int64(x)
	case uint64:
		return strconv.FormatUint(x, 10)
	case uint32:
		return int64(x)
	case uint16:
		return int64(x)
	case uint8:
		return int64(x)
	case float64:
		return x
	case float32:
		return float64(x)
	case *big.Int: // HUGEINT, e.g. sum() of BIGINT
		if x.IsInt64() {
			return x.Int64()
		}
		return x.String()
	case bool:
		if x {
			return "true"
		}
		return "false"
	case time.Time:
		return timeText(x)
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			if e == nil {
				continue
			}
			parts = append(parts, textOf(cellValue(e)))
		}
		return strings.Join(parts, ", ")
	}
	return fmt.Sprint(v)
}

// timeText writes instants as RFC 3339 UTC text: exact, sortable as text, and
// the same in every format.
func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// textOf renders a normalised cell value as text.
func textOf(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// textWidth is the display width used to size columns.
func textWidth(v any) int {
	return utf8.RuneCountInString(textOf(v))
}

// batchRows is how many rows one fetch materialises. The DuckDB driver
// materialises a query's whole result before the first row is read (1M
// findings ≈ 700 MiB), so long results are sorted once into a temporary
// table and read back in slices of this size.
var batchRows int64 = 50_000 // a variable so tests can cross batch boundaries

// sortedRows streams the rows of q in the order given (SQL ORDER BY terms
// over q's output columns), batchRows at a time, holding one connection for
// the temporary table's lifetime.
type sortedRows struct {
	ctx   context.Context
	conn  *sql.Conn
	what  string
	table string
	total int64 // rows in the temporary table
	all   int64 // rows of the query, beyond any limit
	done  int64
	cur   *rowIter
	cols  []string
	err   error
}

func sortedQuery(ctx context.Context, db *sql.DB, what, q, order string, args ...any) (*sortedRows, error) {
	return sortedQueryLimit(ctx, db, what, q, order, 0, args...)
}

// sortedQueryLimit keeps only the first limit rows (0: all) but counts them
// all, so a capped sheet states the true total without the database
// materialising rows nobody will read.
func sortedQueryLimit(ctx context.Context, db *sql.DB, what, q, order string, limit int64, args ...any) (*sortedRows, error) {
	return sortedQueryPrepared(ctx, db, what, q, order, limit, nil, nil, args...)
}

// sortedQueryPrepared runs prepare on the query's connection first.
func sortedQueryPrepared(ctx context.Context, db *sql.DB, what, q, order string, limit int64, prefix []string,
	prepare func(context.Context, *sql.Conn) error, args ...any) (*sortedRows, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("querying %s: %w", what, err)
	}
	if prepare != nil {
		if err := prepare(ctx, conn); err != nil {
			conn.Close()
			return nil, fmt.Errorf("preparing %s: %w", what, err)
		}
	}
	s := &sortedRows{ctx: ctx, conn: conn, what: what, table: "tabaudit_report_rows"}
	over := ""
	if order != "" {
		over = "ORDER BY " + order
	}
	src := q
	if limit > 0 && len(prefix) > 0 {
		where, all, err := prefixFilter(ctx, conn, q, prefix, limit, args...)
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("counting %s: %w", what, err)
		}
		s.all = all
		src = fmt.Sprintf("SELECT * FROM (%s) WHERE %s %s LIMIT %d", q, where, over, limit)
	} else if limit > 0 {
		if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM ("+q+")", args...).Scan(&s.all); err != nil {
			conn.Close()
			return nil, fmt.Errorf("counting %s: %w", what, err)
		}
		src = fmt.Sprintf("SELECT * FROM (%s) %s LIMIT %d", q, over, limit)
	}
	create := fmt.Sprintf("CREATE OR REPLACE TEMP TABLE %s AS SELECT row_number() OVER (%s) AS tabaudit_rn, * FROM (%s)", s.table, over, src)
	if _, err := conn.ExecContext(ctx, create, args...); err != nil {
		conn.Close()
		return nil, fmt.Errorf("querying %s: %w", what, err)
	}
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM "+s.table).Scan(&s.total); err != nil {
		s.close()
		return nil, fmt.Errorf("counting %s: %w", what, err)
	}
	if limit <= 0 {
		s.all = s.total
	}
	if err := s.fetch(); err != nil {
		s.close()
		return nil, err
	}
	s.cols = s.cur.cols
	return s, nil
}

func (s *sortedRows) fetch() error {
	rs, err := s.conn.QueryContext(s.ctx, "SELECT * EXCLUDE (tabaudit_rn) FROM "+s.table+
		" WHERE tabaudit_rn > $1 AND tabaudit_rn <= $2 ORDER BY tabaudit_rn", s.done, s.done+batchRows)
	if err != nil {
		return fmt.Errorf("reading %s: %w", s.what, err)
	}
	cols, err := rs.Columns()
	if err != nil {
		rs.Close()
		return fmt.Errorf("reading %s: %w", s.what, err)
	}
	s.cur = &rowIter{rs: rs, cols: cols, vals: make([]any, len(cols)), ptrs: make([]any, len(cols)), out: make([]any, len(cols))}
	for i := range s.cur.vals {
		s.cur.ptrs[i] = &s.cur.vals[i]
	}
	return nil
}

func (s *sortedRows) next() ([]any, bool) {
	for s.err == nil {
		if vals, ok := s.cur.next(); ok {
			s.done++
			return vals, true
		}
		if err := s.cur.close(); err != nil {
			s.err = err
			break
		}
		start := s.done
		if s.done >= s.total {
			return nil, false
		}
		if err := s.fetch(); err != nil {
			s.err = err
			break
		}
		if vals, ok := s.cur.next(); ok {
			s.done++
			return vals, true
		}
		if s.done == start { // a batch came back empty before the count was reached
			s.err = fmt.Errorf("reading %s: %d of %d rows read", s.what, s.done, s.total)
		}
	}
	return nil, false
}

// close drops the temporary table and returns the error that ended the
// iteration, including a result shorter than its count.
func (s *sortedRows) close() error {
	err := s.err
	if s.cur != nil {
		if cerr := s.cur.close(); err == nil {
			err = cerr
		}
	}
	if err == nil && s.done != s.total && s.cols != nil {
		err = fmt.Errorf("reading %s: %d of %d rows read", s.what, s.done, s.total)
	}
	s.conn.ExecContext(context.WithoutCancel(s.ctx), "DROP TABLE IF EXISTS temp."+s.table)
	if cerr := s.conn.Close(); err == nil {
		err = cerr
	}
	return err
}

// prefixFilter counts q's rows per value of the prefix terms, in their
// order, and returns a condition keeping the prefixes the first limit rows
// fall in, with the count of all rows.
func prefixFilter(ctx context.Context, conn *sql.Conn, q string, prefix []string, limit int64, args ...any) (string, int64, error) {
	keys := make([]string, len(prefix))
	orders := make([]string, len(prefix))
	for i, p := range prefix {
		// A term is an expression (a column or a CASE) and maybe a direction.
		expr, dir := p, ""
		if !strings.HasPrefix(p, "CASE") {
			f := strings.Fields(p)
			expr, dir = f[0], strings.Join(f[1:], " ")
		}
		keys[i] = expr
		orders[i] = strings.TrimSpace("any_value(" + expr + ") " + dir)
	}
	// A hash of the prefix (NULLs included): a collision can only keep a
	// group too many, never lose a row, since the kept rows are then sorted
	// and cut exactly.
	key := "hash(" + strings.Join(keys, ", ") + ")"
	rs, err := conn.QueryContext(ctx, fmt.Sprintf("SELECT %s AS k, count(*) AS n FROM (%s) GROUP BY ALL ORDER BY %s",
		key, q, strings.Join(orders, ", ")), args...)
	if err != nil {
		return "", 0, err
	}
	defer rs.Close()
	var all int64
	var kept []string
	for rs.Next() {
		var k uint64
		var n int64
		if err := rs.Scan(&k, &n); err != nil {
			return "", 0, err
		}
		if all < limit {
			kept = append(kept, strconv.FormatUint(k, 10))
		}
		all += n
	}
	if err := rs.Err(); err != nil {
		return "", 0, err
	}
	if len(kept) == 0 {
		return "false", all, nil
	}
	return key + " IN (" + strings.Join(kept, ", ") + ")", all, nil
}
