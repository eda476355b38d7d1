// Package reports turns a model database (the effective access, findings and
// provenance that model and rules leave in DuckDB) into the files an auditor
// signs: an Excel workbook, CSV files, a versioned JSON document of the
// findings and a Markdown summary fit for a ticket; and it compares two
// snapshots (access gained and lost, rule, role, membership and inventory
// changes) into a change report in the same formats.
//
// Report code reads the database only through SQL on a *sql.DB, so it works on
// any database that has the relations of docs/contracts.md, whichever stage
// produced them. Relations that are absent (no policy check was run, no
// lineage) leave their sheet out and the Summary says so; nothing is dropped
// without a stated count.
//
// # Values from Tableau are text, never formulas
//
// Names, descriptions and tags come from Tableau users and can be crafted:
// a workbook called "=HYPERLINK(...)" or a group called "+cmd|' /C calc'!A0"
// must not run when the report is opened. SafeText is the single guard:
//
//   - xlsx: every string is written as a string cell (inline string) and no
//     writer in this package ever sets a formula, so Excel and LibreOffice
//     show the exact name. The value is not altered, because auditors compare
//     names with Tableau character by character.
//   - CSV and Markdown: a spreadsheet re-interprets text on import, so any
//     string whose first character is = + - @ TAB CR or LF gets a leading
//     apostrophe (OWASP "CSV Injection"). Excel and LibreOffice hide the
//     apostrophe and show the text as typed.
//   - JSON is for programs: values are exact.
//
// Strings longer than an Excel cell holds (32,767 characters) are cut in the
// xlsx with a visible marker, and are whole in CSV and JSON.
package reports
