// Package demo holds the built-in demo site and policy that `tabaudit demo`
// runs the whole pipeline on: a small company's site with the drift a real
// quarterly review finds (a group with more access than approved, a
// forbidden download right, a salary table exposed through a dashboard, an
// expired waiver).
package demo

import (
	_ "embed"

	"github.com/tabaudit/tabaudit/extract/site"
)

//go:embed site.yaml
var siteYAML []byte

// Matrix is the demo's expected access matrix (YAML).
//
//go:embed matrix.yaml
var Matrix []byte

// Site returns the demo site.
func Site() (*site.Site, error) { return site.Parse("demo/site.yaml", siteYAML) }
