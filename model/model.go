package model

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"log/slog"
	"net/url"
	"runtime"
	"strings"

	"github.com/duckdb/duckdb-go/v2"
)

// EngineVersion names this implementation of the evaluation; it is stored in
// snapshot_info so every result can be traced to the code that produced it
// (spec §12.6).
const EngineVersion = "tabaudit-sql/1"

// SpecVersion is the version of spec/permission-semantics.md implemented.
const SpecVersion = "permission-semantics/v2"

// DB is a DuckDB model database: the snapshot tables and the derived
// relations (effective_permissions, content, model_findings).
type DB struct {
	db     *sql.DB
	conn   *duckdb.Connector
	path   string
	logger *slog.Logger
}

// Options tune Open. The zero value is fine.
type Options struct {
	// Threads caps DuckDB's worker threads; 0 means the number of CPUs.
	Threads int
	// MemoryLimit is DuckDB's memory_limit ("4GB"); "" or "auto" keeps
	// DuckDB's default (80% of RAM). Beyond it DuckDB spills to disk rather
	// than failing, so a limit trades speed for a bounded footprint.
	MemoryLimit string
	// MaxTempSize bounds DuckDB's spill files ("10GB" when empty).
	MaxTempSize string
	// Logger receives one line per build stage; nil discards.
	Logger *slog.Logger
}

func (o Options) maxTemp() string {
	if o.MaxTempSize == "" {
		return "10GB"
	}
	return o.MaxTempSize
}

// Open opens (or creates) a model database at path; "" is in memory.
func Open(ctx context.Context, path string) (*DB, error) {
	return OpenWith(ctx, path, Options{})
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, path string, opts Options) (*DB, error) {
	q := url.Values{}
	q.Set("autoinstall_known_extensions", "false")
	q.Set("autoload_known_extensions", "false")
	threads := opts.Threads
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	q.Set("threads", fmt.Sprint(threads))
	if opts.MemoryLimit != "" && opts.MemoryLimit != "auto" {
		q.Set("memory_limit", opts.MemoryLimit)
	}
	// Spilling is bounded so that a runaway query cannot fill the disk of
	// a shared machine.
	q.Set("max_temp_directory_size", opts.maxTemp())
	// Insertion order is irrelevant to every relation here, and keeping it
	// costs memory on large CREATE TABLE AS.
	q.Set("preserve_insertion_order", "false")
	conn, err := duckdb.NewConnector(path+"?"+q.Encode(), nil)
	if err != nil {
		return nil, fmt.Errorf("opening model database %q: %w", displayPath(path), err)
	}
	db := sql.OpenDB(conn)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening model database %q: %w", displayPath(path), err)
	}
	l := opts.Logger
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return &DB{db: db, conn: conn, path: path, logger: l}, nil
}

func displayPath(p string) string {
	if p == "" {
		return ":memory:"
	}
	return p
}

// SQL returns the database handle for rules, reports and queries.
func (d *DB) SQL() *sql.DB { return d.db }

// Path is the database file ("" in memory).
func (d *DB) Path() string { return d.path }

// Close closes the database (a file database is checkpointed).
func (d *DB) Close() error {
	err := d.db.Close()
	if cerr := d.conn.Close(); err == nil {
		err = cerr
	}
	return err
}

// WithAppender runs fn with a DuckDB appender on table, flushing it at the
// end. Loading from Go (modeltest, benchmarks) goes through here so that it
// is as fast as read_parquet.
func (d *DB) WithAppender(ctx context.Context, table string, fn func(a *appender) error) error {
	c, err := d.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("appending to %s: %w", table, err)
	}
	defer c.Close()
	return c.Raw(func(dc any) error {
		a, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", table)
		if err != nil {
			return fmt.Errorf("appending to %s: %w", table, err)
		}
		if err := fn(a); err != nil {
			a.Close()
			return fmt.Errorf("appending to %s: %w", table, err)
		}
		if err := a.Close(); err != nil {
			return fmt.Errorf("appending to %s: %w", table, err)
		}
		return nil
	})
}

// execAll runs statements in order, naming the failing one.
func (d *DB) execAll(ctx context.Context, what string, stmts []string) error {
	for _, s := range stmts {
		if _, err := d.db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s: %w\n-- in statement: %s", what, err, firstLine(s))
		}
	}
	return nil
}

// splitStatements splits a .sql file on ';' at line ends; comment lines are
// dropped. The files keep semicolons out of string literals.
func splitStatements(s string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(s, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "--") || t == "" {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(t, ";") {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	if strings.TrimSpace(cur.String()) != "" {
		out = append(out, cur.String())
	}
	return out
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// appender shortens signatures; it is DuckDB's bulk loader.
type appender = duckdb.Appender

// Appender is DuckDB's bulk loader, as WithAppender hands it out.
type Appender = duckdb.Appender
