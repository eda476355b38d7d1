package cli

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	_ "github.com/duckdb/duckdb-go/v2" // the embedded DuckDB engine
)

type sqlOptions struct {
	DB     string
	Query  string
	Format string
}

func newCmdSQL(f *Factory) *cobra.Command {
	opts := &sqlOptions{}
	cmd := &cobra.Command{
		Use:   "sql [QUERY]",
		Short: "Run SQL on the model, or open an interactive SQL prompt",
		Long: `Run one SQL statement against a model database built by "tabaudit model", or, with no
statement, open an interactive prompt (line editing and history) on it. The database is opened
read-only, so it can stay open in another DuckDB client at the same time.`,
		Example: `  tabaudit sql --db audit.duckdb "SELECT site_role, count(*) FROM users GROUP BY ALL"
  tabaudit sql --db audit.duckdb --format json "SELECT * FROM effective_permissions WHERE user_name = 'ana' AND decision = 'allow'"
  tabaudit sql --db audit.duckdb`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Query = args[0]
			}
			return sqlRun(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().StringVar(&opts.DB, "db", "audit.duckdb", "model database built by `tabaudit model`")
	cmd.Flags().StringVar(&opts.Format, "format", "", "table, csv or json (default: table on a terminal, csv when piped)")
	return cmd
}

func sqlRun(ctx context.Context, f *Factory, opts *sqlOptions) error {
	format, err := resultFormat(opts.Format, f.IO.OutTTY)
	if err != nil {
		return usageError(err)
	}
	db, err := openModelReadOnly(ctx, opts.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	if opts.Query != "" {
		return runStatement(ctx, f.IO.Out, db, format, opts.Query)
	}
	return sqlPrompt(ctx, f, db, opts)
}

// runStatement runs one statement; DuckDB's own message (with its LINE/caret
// position) is kept whole so the analyst sees where the error is.
func runStatement(ctx context.Context, w io.Writer, db *sql.DB, format, q string) error {
	rs, err := db.QueryContext(ctx, q)
	if err != nil {
		return usageError(fmt.Errorf("SQL error: %w", err))
	}
	defer rs.Close()
	if _, err := writeRows(w, format, rs); err != nil {
		return usageError(fmt.Errorf("SQL error: %w", err))
	}
	return nil
}

// sqlPrompt reads statements terminated by ';'. On a terminal it uses
// x/term's line editor (arrows, history); otherwise it reads lines plainly,
// so scripts can pipe statements in.
func sqlPrompt(ctx context.Context, f *Factory, db *sql.DB, opts *sqlOptions) error {
	format := opts.Format
	if format == "" {
		format = "table"
	}
	var readLine func(prompt string) (string, error)
	out := f.IO.Out
	if in, ok := f.IO.In.(*os.File); ok && term.IsTerminal(int(in.Fd())) {
		state, err := term.MakeRaw(int(in.Fd()))
		if err != nil {
			return err
		}
		defer term.Restore(int(in.Fd()), state)
		t := term.NewTerminal(struct {
			io.Reader
			io.Writer
		}{in, f.IO.Out}, "")
		out = t
		readLine = func(prompt string) (string, error) {
			t.SetPrompt(prompt)
			return t.ReadLine()
		}
	} else {
		br := bufio.NewReader(f.IO.In)
		readLine = func(string) (string, error) {
			line, err := br.ReadString('\n')
			if errors.Is(err, io.EOF) && line != "" {
				err = nil
			}
			return strings.TrimRight(line, "\r\n"), err
		}
	}
	fmt.Fprintf(out, "tabaudit sql on %s (read-only). End statements with ';'. .tables lists relations, .quit leaves.\n", opts.DB)
	var stmt strings.Builder
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		prompt := "tabaudit> "
		if stmt.Len() > 0 {
			prompt = "     ...> "
		}
		line, err := readLine(prompt)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		trimmed := strings.TrimSpace(line)
		if stmt.Len() == 0 {
			switch trimmed {
			case "":
				continue
			case ".quit", ".exit", "\\q":
				return nil
			case ".tables":
				trimmed = "SELECT table_name AS name, 'table' AS kind FROM duckdb_tables() UNION ALL SELECT view_name, 'view' FROM duckdb_views() WHERE NOT internal ORDER BY 1;"
			}
		}
		stmt.WriteString(trimmed)
		stmt.WriteByte('\n')
		if !strings.HasSuffix(trimmed, ";") {
			continue
		}
		q := stmt.String()
		stmt.Reset()
		if err := runStatement(ctx, out, db, format, q); err != nil {
			fmt.Fprintln(out, err.Error())
		}
	}
}

// openModelReadOnly opens an existing model database without taking the write
// lock, and fails clearly when the file does not exist (DuckDB would create
// an empty one).
func openModelReadOnly(ctx context.Context, path string) (*sql.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, usageError(fmt.Errorf("model database %s: %w (build it with `tabaudit model`)", path, err))
	}
	db, err := sql.Open("duckdb", path+"?access_mode=READ_ONLY&autoinstall_known_extensions=false&autoload_known_extensions=false&max_temp_directory_size=10GB")
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	return db, nil
}
