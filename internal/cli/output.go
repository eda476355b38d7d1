package cli

import (
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"github.com/tabaudit/tabaudit/reports"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"
)

// resultFormat picks the output format: the flag if given, else an aligned
// table for people on a terminal and CSV when piped.
func resultFormat(flag string, tty bool) (string, error) {
	switch flag {
	case "":
		if tty {
			return "table", nil
		}
		return "csv", nil
	case "table", "csv", "json":
		return flag, nil
	}
	return "", fmt.Errorf("--format %q: want table, csv or json", flag)
}

// writeRows prints every row of rs in the format and returns the row count.
// It checks rs.Err so a query cut off mid-stream is an error, not a short
// result.
func writeRows(w io.Writer, format string, rs *sql.Rows) (int, error) {
	cols, err := rs.Columns()
	if err != nil {
		return 0, err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	next := func() ([]any, error) {
		if !rs.Next() {
			return nil, rs.Err()
		}
		if err := rs.Scan(ptrs...); err != nil {
			return nil, err
		}
		return vals, nil
	}
	return writeRecords(w, format, cols, next)
}

// writeTable prints rows computed in Go in the same formats as query results.
func writeTable(w io.Writer, format string, cols []string, rows [][]any) error {
	i := 0
	_, err := writeRecords(w, format, cols, func() ([]any, error) {
		if i == len(rows) {
			return nil, nil
		}
		i++
		return rows[i-1], nil
	})
	return err
}

// writeRecords prints records until next returns nil; an error from next
// (a result cut off mid-stream) is returned, never a short listing.
func writeRecords(w io.Writer, format string, cols []string, next func() ([]any, error)) (int, error) {
	var (
		n   int
		tw  *tabwriter.Writer
		cw  *csv.Writer
		enc *json.Encoder
	)
	switch format {
	case "table":
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(cols, "\t"))
		seps := make([]string, len(cols))
		for i, c := range cols {
			seps[i] = strings.Repeat("-", max(3, utf8.RuneCountInString(c)))
		}
		fmt.Fprintln(tw, strings.Join(seps, "\t"))
	case "csv":
		cw = csv.NewWriter(w)
		if err := cw.Write(cols); err != nil {
			return 0, err
		}
	case "json":
		if _, err := io.WriteString(w, "[\n"); err != nil {
			return 0, err
		}
		enc = json.NewEncoder(w)
	}
	for {
		vals, err := next()
		if err != nil {
			return n, err
		}
		if vals == nil {
			break
		}
		switch format {
		case "table":
			cells := make([]string, len(vals))
			for i, v := range vals {
				cells[i] = tableCell(cellText(v))
			}
			fmt.Fprintln(tw, strings.Join(cells, "\t"))
		case "csv":
			cells := make([]string, len(vals))
			for i, v := range vals {
				cells[i] = cellText(v)
				if _, isText := v.(string); isText {
					cells[i] = reports.SafeText(cells[i])
				}
			}
			if err := cw.Write(cells); err != nil {
				return n, err
			}
		case "json":
			obj := make(map[string]any, len(cols))
			for i, c := range cols {
				obj[c] = jsonValue(vals[i])
			}
			if n > 0 {
				io.WriteString(w, ",")
			}
			if err := enc.Encode(obj); err != nil {
				return n, err
			}
		}
		n++
	}
	switch format {
	case "table":
		if err := tw.Flush(); err != nil {
			return n, err
		}
	case "csv":
		cw.Flush()
		if err := cw.Error(); err != nil {
			return n, err
		}
	case "json":
		if _, err := io.WriteString(w, "]\n"); err != nil {
			return n, err
		}
	}
	return n, nil
}

func cellText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case []byte:
		return string(x)
	case time.Time:
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 && x.Nanosecond() == 0 {
			return x.Format("2006-01-02")
		}
		return x.UTC().Format(time.RFC3339)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = cellText(e)
		}
		return strings.Join(parts, ", ")
	}
	return fmt.Sprint(v)
}

func jsonValue(v any) any {
	switch x := v.(type) {
	case []byte:
		return string(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	}
	return v
}

// tableCell keeps a cell on one line so the alignment holds.
func tableCell(s string) string {
	return strings.NewReplacer("\n", `\n`, "\r", `\r`, "\t", " ").Replace(s)
}
