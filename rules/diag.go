package rules

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Stable diagnostic codes. They are part of the CLI's contract: scripts and
// golden cases match on them, so a code is never reused for another problem.
const (
	CodeSyntax          = "R000" // file unreadable: bad YAML, CSV or xlsx structure
	CodeUnknownTemplate = "R001" // allow/forbid names neither a template nor a capability
	CodeUnknownCap      = "R002" // capability unknown, or not applicable to any content type in scope
	CodeBadGlob         = "R003" // project or name glob does not parse
	CodeUnknownGroup    = "R004" // group name not in the snapshot
	CodeUnknownUser     = "R005" // user name or email not in the snapshot
	CodeUnknownRole     = "R006" // site role unknown
	CodeBadDate         = "R007" // waiver until is not a YYYY-MM-DD date
	CodeWaiverRule      = "R008" // waiver names a rule the matrix does not define
	CodeDuplicateID     = "R009" // rows sharing an id disagree on a field other than the grantees
	CodeUnknownField    = "R010" // unknown key or column
	CodeMissingField    = "R011" // a required field is empty
	CodeUnknownType     = "R012" // unknown content type in scope.types
	CodeConflict        = "R013" // contradictory rule: no allow/forbid, exclusive without grantees, allow ∩ forbid, ...
	CodeBadValue        = "R014" // bad boolean, severity, number or version
	CodeUnknownCheck    = "R015" // unknown hygiene check
	CodeMissingPart     = "R016" // the rule needs a snapshot part the model lacks (lineage)
	CodeTemplateWarning = "W101" // template expanded on a type whose newer capabilities no template covers (spec §3)
	CodeEmptyScope      = "W102" // the scope matches no item in the snapshot
	CodeEmptyGrantees   = "W103" // the grantees resolve to no user in the snapshot
)

// Pos is where a matrix entry came from: file and line for YAML and CSV,
// file, sheet and row for xlsx.
type Pos struct {
	File  string
	Sheet string
	Line  int
}

func (p Pos) String() string {
	switch {
	case p.Sheet != "":
		return fmt.Sprintf("%s:%s!%d", p.File, p.Sheet, p.Line)
	case p.Line > 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return p.File
}

// Diagnostic is one problem (or warning) in a matrix.
type Diagnostic struct {
	Pos     Pos
	Code    string
	Msg     string
	Hint    string
	Warning bool
}

func (d *Diagnostic) Error() string {
	var b strings.Builder
	b.WriteString(d.Pos.String())
	b.WriteString(": ")
	if d.Warning {
		b.WriteString("warning ")
	}
	b.WriteString(d.Code)
	b.WriteString(" ")
	b.WriteString(d.Msg)
	if d.Hint != "" {
		b.WriteString(" (")
		b.WriteString(d.Hint)
		b.WriteString(")")
	}
	return b.String()
}

// Diagnostics is every problem found, sorted by position. As an error it
// prints one per line.
type Diagnostics []*Diagnostic

func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.Error()
	}
	return strings.Join(lines, "\n")
}

// Errors returns the diagnostics that are not warnings.
func (ds Diagnostics) Errors() Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if !d.Warning {
			out = append(out, d)
		}
	}
	return out
}

// Warnings returns the warnings.
func (ds Diagnostics) Warnings() Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Warning {
			out = append(out, d)
		}
	}
	return out
}

func (ds Diagnostics) sort() {
	slices.SortStableFunc(ds, func(a, b *Diagnostic) int {
		return cmp.Or(cmp.Compare(a.Pos.File, b.Pos.File), cmp.Compare(a.Pos.Sheet, b.Pos.Sheet),
			cmp.Compare(a.Pos.Line, b.Pos.Line), cmp.Compare(a.Code, b.Code), cmp.Compare(a.Msg, b.Msg))
	})
}

// diags collects diagnostics while loading and validating.
type diags struct{ list Diagnostics }

func (d *diags) errorf(p Pos, code, hint, format string, args ...any) {
	d.list = append(d.list, &Diagnostic{Pos: p, Code: code, Msg: fmt.Sprintf(format, args...), Hint: hint})
}

func (d *diags) warnf(p Pos, code, hint, format string, args ...any) {
	d.list = append(d.list, &Diagnostic{Pos: p, Code: code, Msg: fmt.Sprintf(format, args...), Hint: hint, Warning: true})
}

// didYouMean suggests the candidate closest to s by edit distance
// (case-insensitive), when it is close enough to be a plausible typo.
func didYouMean(s string, candidates []string) string {
	best, bestD := "", -1
	ls := strings.ToLower(s)
	for _, c := range candidates {
		d := editDistance(ls, strings.ToLower(c))
		if bestD < 0 || d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	if bestD < 0 {
		return ""
	}
	limit := max(2, utf8.RuneCountInString(s)/3)
	if bestD > limit {
		return ""
	}
	return fmt.Sprintf("did you mean %q?", best)
}

// editDistance is the optimal-string-alignment distance over runes:
// Levenshtein plus adjacent transpositions, the commonest typo ("bne").
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
