package eval

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strings"
)

// The ceiling matrix and the role table are data, not code (spec §6.2: "The
// ceiling matrix MUST live in a data file ... so that a calibration run can
// correct cells without code changes"). The SQL engine loads the same rows
// through CeilingRows and RoleRows, so both evaluators share one table.

//go:embed ceilings.csv
var ceilingsCSV []byte

//go:embed roles.csv
var rolesCSV []byte

// CeilingVersion is the ceiling_version line of ceilings.csv. Every output
// row carries it (spec §12.6).
var CeilingVersion = mustTables().version

// CeilingRow is one cell of the ceiling matrix for one REST site role (legacy
// names included), in the long form the SQL engine inserts into a table:
// JOIN users ON users.site_role = role, then on (content_type, capability).
type CeilingRow struct {
	Role        string // REST siteRole as returned (legacy names too)
	ContentType string
	Capability  string
	Tier        string // V, E, P or C (spec §6)
	Allowed     bool
	Confidence  Confidence // weakest of the cell's and the role's tags
	// CellConfidence is the cell's own tag; UNRESOLVED_CEILING is raised
	// when it is U (the role's tag does not count).
	CellConfidence Confidence
}

// RoleRow describes one REST site role value.
type RoleRow struct {
	Role       string // REST siteRole value
	TreatedAs  string // normalised role (spec §4.1)
	Legacy     bool
	Ceiling    string // ceilings.csv column, "*" for everything, "-" for nothing
	Admin      bool
	Confidence Confidence
	Flag       string // LEGACY_SITE_ROLE, GUEST_ROLE, SUPPORT_USER or ""
}

type cell struct {
	allowed bool
	conf    Confidence
}

type ceilingEntry struct {
	tier  string
	cells map[string]cell // column name -> cell
	conf  Confidence      // row confidence
	note  string
}

type tables struct {
	version string
	columns []string                   // licence columns in file order
	rows    map[[2]string]ceilingEntry // (type, capability)
	order   [][2]string                // file order
	roles   map[string]RoleRow
	roleOrd []string
}

// mustTables parses the embedded files once. They are compiled into the
// binary and covered by TestCeilingFile, so a parse error is a build defect,
// never an input error; panicking at init is the regexp.MustCompile pattern.
var mustTables = func() func() *tables {
	t, err := parseTables(ceilingsCSV, rolesCSV)
	if err != nil {
		panic(fmt.Sprintf("eval: embedded ceiling data: %v", err))
	}
	return func() *tables { return t }
}()

func readCSV(data []byte) (version string, header []string, recs [][]string, err error) {
	var body bytes.Buffer
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "# ceiling_version:"); ok {
			version = strings.TrimSpace(v)
		}
		body.WriteString(line)
		body.WriteByte('\n')
	}
	r := csv.NewReader(&body)
	r.Comment = '#'
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", nil, nil, err
		}
		if header == nil {
			header = rec
			continue
		}
		recs = append(recs, rec)
	}
	return version, header, recs, nil
}

func parseTables(ceil, roles []byte) (*tables, error) {
	version, header, recs, err := readCSV(ceil)
	if err != nil {
		return nil, fmt.Errorf("ceilings.csv: %w", err)
	}
	if version == "" {
		return nil, fmt.Errorf("ceilings.csv: no ceiling_version line")
	}
	want := []string{"type", "capability", "tier"}
	if len(header) < 6 || !slices.Equal(header[:3], want) || header[len(header)-2] != "confidence" || header[len(header)-1] != "note" {
		return nil, fmt.Errorf("ceilings.csv: header %v", header)
	}
	t := &tables{version: version, columns: header[3 : len(header)-2], rows: map[[2]string]ceilingEntry{}, roles: map[string]RoleRow{}}
	for i, rec := range recs {
		conf, err := ParseConfidence(rec[len(rec)-2])
		if err != nil {
			return nil, fmt.Errorf("ceilings.csv row %d: %w", i+1, err)
		}
		e := ceilingEntry{tier: rec[2], conf: conf, note: rec[len(rec)-1], cells: map[string]cell{}}
		for j, col := range t.columns {
			v, override, _ := strings.Cut(rec[3+j], ":")
			c := cell{conf: conf}
			switch v {
			case "Y":
				c.allowed = true
			case "N":
			default:
				return nil, fmt.Errorf("ceilings.csv row %d column %s: %q (want Y or N)", i+1, col, rec[3+j])
			}
			if override != "" {
				if c.conf, err = ParseConfidence(override); err != nil {
					return nil, fmt.Errorf("ceilings.csv row %d column %s: %w", i+1, col, err)
				}
			}
			e.cells[col] = c
		}
		k := [2]string{rec[0], rec[1]}
		if _, dup := t.rows[k]; dup {
			return nil, fmt.Errorf("ceilings.csv: duplicate row %s/%s", k[0], k[1])
		}
		t.rows[k] = e
		t.order = append(t.order, k)
	}
	_, rheader, rrecs, err := readCSV(roles)
	if err != nil {
		return nil, fmt.Errorf("roles.csv: %w", err)
	}
	if !slices.Equal(rheader, []string{"role", "treated_as", "legacy", "ceiling", "admin", "confidence", "flag"}) {
		return nil, fmt.Errorf("roles.csv: header %v", rheader)
	}
	for i, rec := range rrecs {
		conf, err := ParseConfidence(rec[5])
		if err != nil {
			return nil, fmt.Errorf("roles.csv row %d: %w", i+1, err)
		}
		if rec[3] != "*" && rec[3] != "-" && !slices.Contains(t.columns, rec[3]) {
			return nil, fmt.Errorf("roles.csv row %d: ceiling column %q not in ceilings.csv", i+1, rec[3])
		}
		r := RoleRow{Role: rec[0], TreatedAs: rec[1], Legacy: rec[2] == "Y", Ceiling: rec[3], Admin: rec[4] == "Y", Confidence: conf, Flag: rec[6]}
		t.roles[r.Role] = r
		t.roleOrd = append(t.roleOrd, r.Role)
	}
	return t, nil
}

// lookupRole returns the role row for a REST siteRole value.
func lookupRole(role string) (RoleRow, bool) {
	r, ok := mustTables().roles[role]
	return r, ok
}

// ceilingCell answers step 1 for a role row: is (type, capability) inside
// the cap, the cell's own confidence (the role's is separate) and the tier.
// known is false when the matrix has no row for the pair (an unknown
// capability, spec §2).
func ceilingCell(r RoleRow, contentType, capability string) (allowed bool, conf Confidence, tier string, known bool) {
	t := mustTables()
	e, ok := t.rows[[2]string{contentType, capability}]
	if !ok {
		return false, U, "", false
	}
	switch r.Ceiling {
	case "*":
		return true, D, e.tier, true
	case "-":
		return false, D, e.tier, true
	}
	c := e.cells[r.Ceiling]
	return c.allowed, c.conf, e.tier, true
}

// CeilingRows returns the ceiling matrix in long form, one row per REST role
// (current and legacy) and (content type, capability), in a stable order.
func CeilingRows() []CeilingRow {
	t := mustTables()
	var out []CeilingRow
	for _, role := range t.roleOrd {
		r := t.roles[role]
		for _, k := range t.order {
			ok, conf, tier, _ := ceilingCell(r, k[0], k[1])
			out = append(out, CeilingRow{Role: role, ContentType: k[0], Capability: k[1], Tier: tier, Allowed: ok, Confidence: minConf(conf, r.Confidence), CellConfidence: conf})
		}
	}
	return out
}

// RoleRows returns every site role the engine knows, current and legacy.
func RoleRows() []RoleRow {
	t := mustTables()
	out := make([]RoleRow, 0, len(t.roleOrd))
	for _, r := range t.roleOrd {
		out = append(out, t.roles[r])
	}
	return out
}
