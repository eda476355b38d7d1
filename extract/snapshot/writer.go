package snapshot

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Snapshot atomicity: a snapshot is written into a hidden sibling folder
// named ".tmp-snapshot=<time>-<random>" and renamed to "snapshot=<time>" only
// after every Parquet file is closed and manifest.json is written. A rename
// within one folder is atomic, so a crash, a kill or Ctrl-C never leaves a
// folder that looks like a snapshot: readers glob "snapshot=*" and never see
// a half-written one. Abort removes the temporary folder; leftovers of a
// killed process keep their ".tmp-" name and are removed by the next writer
// for the same site once they are older than StaleAfter.

// TimeFormat is the layout of the snapshot folder's time (UTC).
const TimeFormat = "20060102T150405Z"

// TempPrefix starts the name of every temporary snapshot folder.
const TempPrefix = ".tmp-"

// StaleAfter is how old a temporary folder must be before a new writer
// removes it (a concurrent extraction of the same site may still own a
// younger one).
const StaleAfter = 24 * time.Hour

// DefaultBatchRows is the number of rows buffered per table before a record
// batch is written as a Parquet row group; it bounds memory for large sites.
const DefaultBatchRows = 16384

// WriterOptions tune a Writer.
type WriterOptions struct {
	BatchRows int
	// Provenance is stored in every Parquet file's schema metadata (key
	// prefix "tabaudit."), next to the table name and schema version.
	Provenance map[string]string
	// Lineage writes the lineage tables (even when empty).
	Lineage bool
}

// Writer writes one snapshot. Append is safe for concurrent use; rows of
// one table are written in the order Append is called.
type Writer struct {
	root, siteDir, tmp, final string
	id                        string
	opts                      WriterOptions
	mem                       memory.Allocator

	mu     sync.Mutex // guards tables map and done
	tables map[string]*tableWriter
	done   bool
}

type tableWriter struct {
	mu      sync.Mutex
	t       Table
	schema  *arrow.Schema
	f       *os.File
	w       *pqarrow.FileWriter
	b       *array.RecordBuilder
	pending int
	rows    int64
	batch   int
}

// SiteFolder is the folder name of a site: "site=<content url>" or
// "site=default" for the Default site.
func SiteFolder(contentURL string) string {
	if contentURL == "" {
		return "site=default"
	}
	return "site=" + contentURL
}

// NewWriter starts a snapshot of a site under root; started names the folder
// snapshot=<started, UTC, second precision>.
func NewWriter(root, siteContentURL string, started time.Time, opts WriterOptions) (*Writer, error) {
	if strings.ContainsAny(siteContentURL, `/\`) || siteContentURL == "." || siteContentURL == ".." {
		return nil, fmt.Errorf("site content URL %q cannot be a folder name", siteContentURL)
	}
	if opts.BatchRows <= 0 {
		opts.BatchRows = DefaultBatchRows
	}
	ts := started.UTC().Format(TimeFormat)
	siteDir := filepath.Join(root, SiteFolder(siteContentURL))
	if err := os.MkdirAll(siteDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating snapshot folder: %w", err)
	}
	cleanStale(siteDir, started)
	final := filepath.Join(siteDir, "snapshot="+ts)
	if _, err := os.Stat(final); err == nil {
		return nil, fmt.Errorf("snapshot folder %s already exists", final)
	}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(siteDir, TempPrefix+"snapshot="+ts+"-"+hex.EncodeToString(rnd[:]))
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("creating temporary snapshot folder: %w", err)
	}
	site := siteContentURL
	if site == "" {
		site = "default"
	}
	w := &Writer{root: root, siteDir: siteDir, tmp: tmp, final: final, id: site + "/" + ts, opts: opts,
		mem: memory.NewGoAllocator(), tables: map[string]*tableWriter{}}
	for _, t := range Tables {
		if t.Lineage && !opts.Lineage {
			continue
		}
		if _, err := w.table(t.Name); err != nil {
			w.Abort()
			return nil, err
		}
	}
	return w, nil
}

// cleanStale removes temporary folders of killed runs that are older than
// StaleAfter.
func cleanStale(siteDir string, now time.Time) {
	ents, err := os.ReadDir(siteDir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), TempPrefix) {
			continue
		}
		if info, err := e.Info(); err == nil && now.Sub(info.ModTime()) > StaleAfter {
			_ = os.RemoveAll(filepath.Join(siteDir, e.Name()))
		}
	}
}

// ID is "<site>/<time>", the snapshot id recorded in the manifest.
func (w *Writer) ID() string { return w.id }

// Dir is the final folder the snapshot will have after Commit.
func (w *Writer) Dir() string { return w.final }

// TempDir is the folder being written.
func (w *Writer) TempDir() string { return w.tmp }

// ArrowSchema is the Arrow schema of a catalogue table.
func ArrowSchema(t Table, meta map[string]string) *arrow.Schema {
	fields := make([]arrow.Field, len(t.Columns))
	for i, c := range t.Columns {
		fields[i] = arrow.Field{Name: c.Name, Type: arrowType(c.Type), Nullable: true,
			Metadata: arrow.NewMetadata([]string{"doc"}, []string{c.Doc})}
	}
	keys := []string{"tabaudit.table", "tabaudit.schema_version", "tabaudit.doc"}
	vals := []string{t.Name, strconv.Itoa(SchemaVersion), t.Doc}
	for k, v := range meta {
		keys = append(keys, "tabaudit."+k)
		vals = append(vals, v)
	}
	md := arrow.NewMetadata(keys, vals)
	return arrow.NewSchema(fields, &md)
}

func arrowType(t Type) arrow.DataType {
	switch t {
	case Int64:
		return arrow.PrimitiveTypes.Int64
	case Bool:
		return arrow.FixedWidthTypes.Boolean
	case Timestamp:
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	case StringList:
		return arrow.ListOf(arrow.BinaryTypes.String)
	case Float64:
		return arrow.PrimitiveTypes.Float64
	}
	return arrow.BinaryTypes.String
}

func (w *Writer) table(name string) (*tableWriter, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return nil, errors.New("snapshot writer already committed or aborted")
	}
	if tw, ok := w.tables[name]; ok {
		return tw, nil
	}
	t, ok := Lookup(name)
	if !ok {
		return nil, fmt.Errorf("unknown snapshot table %q", name)
	}
	meta := map[string]string{"snapshot_id": w.id}
	for k, v := range w.opts.Provenance {
		meta[k] = v
	}
	schema := ArrowSchema(t, meta)
	f, err := os.Create(filepath.Join(w.tmp, t.File()))
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", t.File(), err)
	}
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithAllocator(w.mem),
		parquet.WithCreatedBy("tabaudit"))
	fw, err := pqarrow.NewFileWriter(schema, f, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema(), pqarrow.WithAllocator(w.mem)))
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("opening Parquet writer for %s: %w", t.Name, err)
	}
	tw := &tableWriter{t: t, schema: schema, f: f, w: fw, b: array.NewRecordBuilder(w.mem, schema), batch: w.opts.BatchRows}
	w.tables[name] = tw
	return tw, nil
}

// Append adds one row to a table; values are in column order: string,
// int64 (or int), bool, time.Time (zero = null), []string, float64, a
// pointer to one of these (nil = null), or nil for null.
func (w *Writer) Append(table string, row ...any) error {
	tw, err := w.table(table)
	if err != nil {
		return err
	}
	tw.mu.Lock()
	defer tw.mu.Unlock()
	if len(row) != len(tw.t.Columns) {
		return fmt.Errorf("appending to %s: %d values for %d columns", table, len(row), len(tw.t.Columns))
	}
	// Check every value first so that a bad row leaves no partial row behind.
	for i, v := range row {
		if err := check(tw.t.Columns[i].Type, v); err != nil {
			return fmt.Errorf("appending to %s, column %s: %w", table, tw.t.Columns[i].Name, err)
		}
	}
	for i, v := range row {
		appendValue(tw.b.Field(i), tw.t.Columns[i].Type, v)
	}
	tw.pending++
	tw.rows++
	if tw.pending >= tw.batch {
		return tw.flush()
	}
	return nil
}

// Rows is the number of rows appended to a table so far.
func (w *Writer) Rows(table string) int64 {
	w.mu.Lock()
	tw := w.tables[table]
	w.mu.Unlock()
	if tw == nil {
		return 0
	}
	tw.mu.Lock()
	defer tw.mu.Unlock()
	return tw.rows
}

func (tw *tableWriter) flush() error {
	if tw.pending == 0 {
		return nil
	}
	rec := tw.b.NewRecordBatch()
	defer rec.Release()
	tw.pending = 0
	if err := tw.w.Write(rec); err != nil {
		return fmt.Errorf("writing %s: %w", tw.t.File(), err)
	}
	return nil
}

func (tw *tableWriter) close() error {
	tw.mu.Lock()
	defer tw.mu.Unlock()
	err := tw.flush()
	tw.b.Release()
	if cerr := tw.w.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("closing %s: %w", tw.t.File(), cerr)
	}
	// pqarrow closes the underlying file when the writer closes; closing
	// again only reports "already closed".
	_ = tw.f.Close()
	return err
}

// IncludeLineage makes Commit write the lineage tables even when no row
// was appended (lineage was extracted and found nothing).
func (w *Writer) IncludeLineage() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.opts.Lineage = true
}

// Commit closes every table, writes manifest.json and renames the folder to
// its final name. The manifest's Tables rows are filled from the rows
// written when the caller left them zero.
func (w *Writer) Commit(m *Manifest) (string, error) {
	w.mu.Lock()
	lineage := w.opts.Lineage
	w.mu.Unlock()
	if lineage {
		for _, t := range Tables {
			if t.Lineage {
				if _, err := w.table(t.Name); err != nil {
					return "", err
				}
			}
		}
	}
	w.mu.Lock()
	if w.done {
		w.mu.Unlock()
		return "", errors.New("snapshot writer already committed or aborted")
	}
	w.done = true
	tables := w.tables
	w.mu.Unlock()
	var firstErr error
	for _, tw := range tables {
		if err := tw.close(); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		_ = os.RemoveAll(w.tmp)
		return "", firstErr
	}
	if m.Tables == nil {
		m.Tables = map[string]TableStats{}
	}
	for name, tw := range tables {
		st := m.Tables[name]
		st.Rows = tw.rows
		m.Tables[name] = st
	}
	m.SchemaVersion = SchemaVersion
	m.SnapshotID = w.id
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		_ = os.RemoveAll(w.tmp)
		return "", fmt.Errorf("encoding manifest: %w", err)
	}
	if err := writeFileSync(filepath.Join(w.tmp, ManifestFile), append(data, '\n')); err != nil {
		_ = os.RemoveAll(w.tmp)
		return "", fmt.Errorf("writing manifest: %w", err)
	}
	if err := os.Rename(w.tmp, w.final); err != nil {
		_ = os.RemoveAll(w.tmp)
		return "", fmt.Errorf("publishing snapshot %s: %w", w.final, err)
	}
	return w.final, nil
}

func writeFileSync(path string, data []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Abort discards the snapshot: nothing is left under the site folder. It is
// safe to call after Commit (it then does nothing).
func (w *Writer) Abort() {
	w.mu.Lock()
	if w.done {
		w.mu.Unlock()
		return
	}
	w.done = true
	tables := w.tables
	w.mu.Unlock()
	for _, tw := range tables {
		tw.mu.Lock()
		tw.b.Release()
		_ = tw.f.Close()
		tw.mu.Unlock()
	}
	_ = os.RemoveAll(w.tmp)
	// Remove the site folder too if this run created it and left it empty.
	_ = os.Remove(w.siteDir)
}

func check(t Type, v any) error {
	if v == nil {
		return nil
	}
	ok := false
	switch t {
	case String:
		switch v.(type) {
		case string, *string:
			ok = true
		}
	case Int64:
		switch v.(type) {
		case int64, int, int32, *int64:
			ok = true
		}
	case Bool:
		switch v.(type) {
		case bool, *bool:
			ok = true
		}
	case Timestamp:
		switch v.(type) {
		case time.Time, *time.Time:
			ok = true
		}
	case StringList:
		_, ok = v.([]string)
	case Float64:
		switch v.(type) {
		case float64, *float64:
			ok = true
		}
	}
	if !ok {
		return fmt.Errorf("value of Go type %T does not fit column type %s", v, t)
	}
	return nil
}

func (t Type) String() string {
	switch t {
	case String:
		return "string"
	case Int64:
		return "int64"
	case Bool:
		return "bool"
	case Timestamp:
		return "timestamp"
	case StringList:
		return "list<string>"
	case Float64:
		return "float64"
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// appendValue appends an already checked value.
func appendValue(b array.Builder, t Type, v any) {
	switch x := v.(type) {
	case nil:
		b.AppendNull()
		return
	case *string:
		if x == nil {
			b.AppendNull()
			return
		}
		v = *x
	case *int64:
		if x == nil {
			b.AppendNull()
			return
		}
		v = *x
	case *bool:
		if x == nil {
			b.AppendNull()
			return
		}
		v = *x
	case *time.Time:
		if x == nil {
			b.AppendNull()
			return
		}
		v = *x
	case *float64:
		if x == nil {
			b.AppendNull()
			return
		}
		v = *x
	}
	switch t {
	case String:
		b.(*array.StringBuilder).Append(v.(string))
	case Int64:
		var n int64
		switch x := v.(type) {
		case int64:
			n = x
		case int:
			n = int64(x)
		case int32:
			n = int64(x)
		}
		b.(*array.Int64Builder).Append(n)
	case Bool:
		b.(*array.BooleanBuilder).Append(v.(bool))
	case Timestamp:
		tm := v.(time.Time)
		if tm.IsZero() {
			b.AppendNull()
			return
		}
		b.(*array.TimestampBuilder).Append(arrow.Timestamp(tm.UTC().UnixMicro()))
	case StringList:
		lb := b.(*array.ListBuilder)
		lb.Append(true)
		vb := lb.ValueBuilder().(*array.StringBuilder)
		for _, s := range v.([]string) {
			vb.Append(s)
		}
	case Float64:
		b.(*array.Float64Builder).Append(v.(float64))
	}
}
