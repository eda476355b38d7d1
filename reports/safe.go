package reports

import "strings"

// SafeText defuses a value for text formats that a spreadsheet may open (CSV,
// Markdown pasted into a sheet): a string that starts with = + - @ or a tab,
// carriage return or line feed gets a leading apostrophe, per OWASP's CSV
// injection guidance, so it is shown as text and never evaluated (formulas,
// DDE). Every other string is returned unchanged. It is the one guard every
// writer in tabaudit uses for text output.
func SafeText(s string) string {
	if NeedsGuard(s) {
		return "'" + s
	}
	return s
}

// NeedsGuard reports whether a spreadsheet could read s as a formula or a
// DDE call.
func NeedsGuard(s string) bool {
	if s == "" {
		return false
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r', '\n':
		return true
	}
	// Full-width equals and plus signs are folded to ASCII by some
	// spreadsheet imports (Excel with East Asian input settings).
	return strings.HasPrefix(s, "＝") || strings.HasPrefix(s, "＋") || strings.HasPrefix(s, "－") || strings.HasPrefix(s, "＠")
}
