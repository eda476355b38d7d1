package demo

import "testing"

func TestSiteLoads(t *testing.T) {
	s, err := Site()
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Users) != 10 || s.Lineage == nil || len(s.Lineage.Sheets) != 7 {
		t.Fatalf("demo site: %d users, lineage %v", len(s.Users), s.Lineage != nil)
	}
}
