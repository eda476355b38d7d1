package reports

import (
	"archive/zip"
	"compress/flate"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// ExcelMaxRows is Excel's row limit per sheet, header included.
const ExcelMaxRows = excelize.TotalRows

// maxCellChars is what one Excel cell holds; excelize would cut longer text
// silently, so the writer cuts it itself and says so in the cell.
const maxCellChars = excelize.TotalCellChars

// severityFill is the fill and font colour of each severity's cell.
var severityFill = map[string][2]string{
	"critical": {"C00000", "FFFFFF"},
	"high":     {"FF7C80", "000000"},
	"medium":   {"FFC000", "000000"},
	"low":      {"FFF2CC", "000000"},
	"info":     {"DDEBF7", "000000"},
}

// workbook is the xlsx being written: the file and its shared styles.
type workbook struct {
	f         *excelize.File
	maxRows   int // data rows per sheet (Excel's limit minus the header)
	header    int
	title     int
	bold      int
	wrap      int
	severity  map[string]int
	tableSeen map[string]bool
}

func newWorkbook(maxRows int) (*workbook, error) {
	f := excelize.NewFile()
	b := &workbook{f: f, maxRows: maxRows, severity: map[string]int{}, tableSeen: map[string]bool{}}
	if b.maxRows <= 0 || b.maxRows > ExcelMaxRows-1 {
		b.maxRows = ExcelMaxRows - 1
	}
	var err error
	if b.header, err = f.NewStyle(&excelize.Style{
		Font:      &excelize.Font{Bold: true},
		Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"D9E1F2"}},
		Alignment: &excelize.Alignment{Vertical: "top"},
	}); err != nil {
		return nil, err
	}
	if b.title, err = f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 14}}); err != nil {
		return nil, err
	}
	if b.bold, err = f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}}); err != nil {
		return nil, err
	}
	if b.wrap, err = f.NewStyle(&excelize.Style{Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}}); err != nil {
		return nil, err
	}
	for sev, c := range severityFill {
		id, err := f.NewStyle(&excelize.Style{
			Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{c[0]}},
			Font: &excelize.Font{Color: c[1], Bold: sev == "critical"},
		})
		if err != nil {
			return nil, err
		}
		b.severity[sev] = id
	}
	return b, nil
}

// xlsxText is the cell value of a string: always a string cell (the stream
// writer stores it as an inline string, never a formula), cut with a visible
// marker when Excel could not hold it.
func xlsxText(s string) string {
	if len(s) <= maxCellChars/2 || utf16Len(s) <= maxCellChars {
		return s
	}
	marker := fmt.Sprintf(" … [cut: %d characters in total; the CSV and JSON hold the whole value]", utf8.RuneCountInString(s))
	limit := maxCellChars - utf16Len(marker)
	n, i := 0, 0
	for j, r := range s {
		w := 1
		if r >= 0x10000 {
			w = 2
		}
		if n+w > limit {
			break
		}
		n += w
		i = j + utf8.RuneLen(r)
	}
	return s[:i] + marker
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// xlsxSink writes a section to one or more streamed sheets, each an Excel
// table (autofilter) with a frozen header row. It holds back the first rows
// to size the columns, since a stream writer takes widths before any row.
type xlsxSink struct {
	b       *workbook
	sec     section
	cols    []string
	sevIdx  int
	sample  [][]any
	sw      *excelize.StreamWriter
	part    int
	inPart  int   // data rows in the current sheet
	written int64 // data rows in all sheets
	widths  []float64
	sheets  []string
	cells   []any
}

const sampleRows = 500

func (b *workbook) sink(sec section) *xlsxSink {
	return &xlsxSink{b: b, sec: sec, sevIdx: -1}
}

func (x *xlsxSink) header(cols []string) error {
	x.cols = cols
	for i, c := range cols {
		if c == x.sec.SeverityCol && c != "" {
			x.sevIdx = i
		}
	}
	x.cells = make([]any, len(cols))
	return nil
}

func (x *xlsxSink) row(vals []any) error {
	if x.sec.XLSXCap > 0 && x.written+int64(len(x.sample)) >= x.sec.XLSXCap {
		return nil
	}
	if x.sw == nil {
		x.sample = append(x.sample, append([]any(nil), vals...))
		if len(x.sample) < sampleRows {
			return nil
		}
		return x.drainSample()
	}
	return x.write(vals)
}

func (x *xlsxSink) drainSample() error {
	x.sizeColumns()
	if err := x.startPart(); err != nil {
		return err
	}
	for _, r := range x.sample {
		if err := x.write(r); err != nil {
			return err
		}
	}
	x.sample = nil
	return nil
}

func (x *xlsxSink) sizeColumns() {
	x.widths = make([]float64, len(x.cols))
	for i, c := range x.cols {
		w := utf8.RuneCountInString(headerName(c)) + 4 // room for the filter button
		for _, r := range x.sample {
			w = max(w, textWidth(r[i])+1)
		}
		x.widths[i] = float64(min(max(w, 6), 60))
	}
}

func (x *xlsxSink) sheetName() string {
	if x.part == 1 {
		return x.sec.Sheet
	}
	return fmt.Sprintf("%s (%d)", x.sec.Sheet, x.part)
}

func (x *xlsxSink) startPart() error {
	x.part++
	name := x.sheetName()
	if _, err := x.b.f.NewSheet(name); err != nil {
		return fmt.Errorf("adding sheet %q: %w", name, err)
	}
	sw, err := x.b.f.NewStreamWriter(name)
	if err != nil {
		return fmt.Errorf("sheet %q: %w", name, err)
	}
	for i, w := range x.widths {
		if err := sw.SetColWidth(i+1, i+1, w); err != nil {
			return err
		}
	}
	// Panes must be set before the first row; the header stays in view.
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}}}); err != nil {
		return err
	}
	hdr := make([]any, len(x.cols))
	for i, c := range x.cols {
		hdr[i] = excelize.Cell{StyleID: x.b.header, Value: headerName(c)}
	}
	if err := sw.SetRow("A1", hdr); err != nil {
		return err
	}
	x.sw, x.inPart = sw, 0
	x.sheets = append(x.sheets, name)
	return nil
}

func (x *xlsxSink) write(vals []any) error {
	if x.inPart == x.b.maxRows {
		if err := x.finishPart(); err != nil {
			return err
		}
		if err := x.startPart(); err != nil {
			return err
		}
	}
	for i, v := range vals {
		style := 0
		if i == x.sevIdx {
			if s, ok := v.(string); ok {
				style = x.b.severity[s]
			}
		}
		switch s := v.(type) {
		case string:
			v = xlsxText(s)
		}
		if style != 0 {
			x.cells[i] = excelize.Cell{StyleID: style, Value: v}
		} else {
			x.cells[i] = v
		}
	}
	x.inPart++
	x.written++
	cell, _ := excelize.CoordinatesToCellName(1, x.inPart+1)
	return x.sw.SetRow(cell, x.cells)
}

var tableNameUnsafe = regexp.MustCompile(`[^A-Za-z0-9_]`)

func (x *xlsxSink) finishPart() error {
	last, err := excelize.CoordinatesToCellName(len(x.cols), max(x.inPart, 1)+1)
	if err != nil {
		return err
	}
	name := "t_" + tableNameUnsafe.ReplaceAllString(x.sec.Key, "_")
	if x.part > 1 {
		name = fmt.Sprintf("%s_%d", name, x.part)
	}
	for x.b.tableSeen[strings.ToLower(name)] {
		name += "_"
	}
	x.b.tableSeen[strings.ToLower(name)] = true
	if err := x.sw.AddTable(&excelize.Table{Range: "A1:" + last, Name: name, StyleName: "TableStyleLight1"}); err != nil {
		return fmt.Errorf("adding the table of sheet %q: %w", x.sheetName(), err)
	}
	if err := x.sw.Flush(); err != nil {
		return fmt.Errorf("flushing sheet %q: %w", x.sheetName(), err)
	}
	x.sw = nil
	return nil
}

func (x *xlsxSink) close(st *SectionStats) error {
	if x.sw == nil {
		if err := x.drainSample(); err != nil {
			return err
		}
	}
	if err := x.finishPart(); err != nil {
		return err
	}
	st.Sheet = x.sec.Sheet
	st.XLSXRows = x.written
	st.Sheets = x.sheets
	return nil
}

// noteSheet adds a sheet that holds only an explanation (e.g. no policy check
// was run), so the workbook's shape stays the same from run to run.
func (b *workbook) noteSheet(name string, lines ...string) error {
	if _, err := b.f.NewSheet(name); err != nil {
		return fmt.Errorf("adding sheet %q: %w", name, err)
	}
	if err := b.f.SetColWidth(name, "A", "A", 100); err != nil {
		return err
	}
	for i, l := range lines {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := b.f.SetCellStr(name, cell, xlsxText(l)); err != nil {
			return err
		}
	}
	return nil
}

// save writes the workbook to path. excelize's Write builds the whole zip in
// memory first (76 MiB for a million findings, more while the buffer
// grows); a zip writer of our own streams it to the file instead, and
// compresses at the fastest level, which costs a few percent of size.
func (b *workbook) save(path string) error {
	return writeFileAtomic(path, func(w io.Writer) error {
		var zw *zip.Writer
		b.f.SetZipWriter(func(io.Writer) excelize.ZipWriter {
			zw = zip.NewWriter(w)
			zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
				return flate.NewWriter(out, flate.BestSpeed)
			})
			return zw
		})
		// The buffer excelize writes into stays empty: every byte went to w.
		return b.f.Write(io.Discard)
	})
}
