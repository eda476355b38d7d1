//go:build large

package site

import "testing"

// TestGenerateLarge checks the L preset like S and M. It takes a few
// seconds and ~300 MB, so it runs only with the large tag:
//
//	go test -tags large -run TestGenerateLarge -v ./extract/site
func TestGenerateLarge(t *testing.T) { checkPreset(t, "L", 7) }
