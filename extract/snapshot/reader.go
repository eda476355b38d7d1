package snapshot

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// ReadManifest reads dir/manifest.json and refuses a newer schema version.
func ReadManifest(dir string) (*Manifest, error) {
	data, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("reading snapshot manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("reading snapshot manifest %s: %w", filepath.Join(dir, ManifestFile), err)
	}
	if m.SchemaVersion > SchemaVersion {
		return nil, fmt.Errorf("snapshot %s has schema version %d; this tabaudit reads up to %d", dir, m.SchemaVersion, SchemaVersion)
	}
	return &m, nil
}

// Snapshot is a snapshot folder opened for reading (tests, tools).
type Snapshot struct {
	Dir      string
	Manifest *Manifest
	tables   []string
}

// Open opens a snapshot folder: its manifest and the tables present.
func Open(dir string) (*Snapshot, error) {
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("opening snapshot: %w", err)
	}
	s := &Snapshot{Dir: dir, Manifest: m}
	for _, e := range ents {
		if name, ok := strings.CutSuffix(e.Name(), ".parquet"); ok {
			s.tables = append(s.tables, name)
		}
	}
	slices.Sort(s.tables)
	return s, nil
}

// Tables lists the tables present, sorted.
func (s *Snapshot) Tables() []string { return s.tables }

// Rows is a table read back: column names and rows of Go values (string,
// int64, bool, time.Time in UTC, []string, float64, or nil for null).
type Rows struct {
	Columns  []string
	Rows     [][]any
	Metadata map[string]string // Parquet key-value metadata (provenance)
}

// Read reads a whole table (fine for tests and small sites; the model reads
// Parquet with DuckDB).
func (s *Snapshot) Read(ctx context.Context, table string) (*Rows, error) {
	return ReadTable(ctx, filepath.Join(s.Dir, table+".parquet"))
}

// ReadTable reads one Parquet file written by Writer.
func ReadTable(ctx context.Context, path string) (*Rows, error) {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	defer pf.Close()
	out := &Rows{Metadata: map[string]string{}}
	for _, kv := range pf.MetaData().KeyValueMetadata() {
		if kv.Key != "ARROW:schema" && kv.Value != nil {
			out.Metadata[kv.Key] = *kv.Value
		}
	}
	mem := memory.NewGoAllocator()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 64 << 10}, mem)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	tbl, err := fr.ReadTable(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	defer tbl.Release()
	n := int(tbl.NumRows())
	for i := 0; i < int(tbl.NumCols()); i++ {
		out.Columns = append(out.Columns, tbl.Schema().Field(i).Name)
	}
	out.Rows = make([][]any, n)
	for r := range out.Rows {
		out.Rows[r] = make([]any, tbl.NumCols())
	}
	for c := 0; c < int(tbl.NumCols()); c++ {
		r := 0
		for _, chunk := range tbl.Column(c).Data().Chunks() {
			for i := 0; i < chunk.Len(); i++ {
				out.Rows[r][c] = value(chunk, i)
				r++
			}
		}
	}
	return out, nil
}

func value(a arrow.Array, i int) any {
	if a.IsNull(i) {
		return nil
	}
	switch x := a.(type) {
	case *array.String:
		return x.Value(i)
	case *array.Int64:
		return x.Value(i)
	case *array.Boolean:
		return x.Value(i)
	case *array.Float64:
		return x.Value(i)
	case *array.Timestamp:
		unit := x.DataType().(*arrow.TimestampType).Unit
		return x.Value(i).ToTime(unit).UTC()
	case *array.List:
		start, end := x.ValueOffsets(i)
		vals := x.ListValues().(*array.String)
		out := make([]string, 0, end-start)
		for j := start; j < end; j++ {
			out = append(out, vals.Value(int(j)))
		}
		return out
	}
	return fmt.Sprintf("<unsupported %s>", a.DataType())
}

// Column returns the index of a column, or -1.
func (r *Rows) Column(name string) int { return slices.Index(r.Columns, name) }

// Find returns the snapshot folders under root (any site), sorted, ignoring
// temporary folders.
func Find(root string) ([]string, error) {
	dirs, err := filepath.Glob(filepath.Join(root, "site=*", "snapshot=*"))
	if err != nil {
		return nil, err
	}
	slices.Sort(dirs)
	return dirs, nil
}

// ParseTime reads the time out of a snapshot folder name.
func ParseTime(dir string) (time.Time, error) {
	base := filepath.Base(dir)
	ts, ok := strings.CutPrefix(base, "snapshot=")
	if !ok {
		return time.Time{}, fmt.Errorf("%s is not a snapshot folder", dir)
	}
	return time.Parse(TimeFormat, ts)
}
