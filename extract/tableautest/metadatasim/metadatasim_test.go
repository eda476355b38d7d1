package metadatasim

import (
	"testing"

	"github.com/tabaudit/tabaudit/extract/site"
)

func loadSite(t *testing.T, path string) *site.Site {
	t.Helper()
	s, err := site.Load(path)
	if err != nil {
		t.Fatalf("loading %s: %v", path, err)
	}
	return s
}

func TestLoadRoundTrip(t *testing.T) {
	s := loadSite(t, "../../../testdata/lineage/roundtrip.yaml")
	srv := NewServer(s, Config{})
	if srv.buildErr != nil {
		t.Fatal(srv.buildErr)
	}
}

func TestScratch(t *testing.T) {
	s := loadSite(t, "../../../testdata/lineage/roundtrip.yaml")
	srv := NewServer(s, Config{})
	for _, op := range []string{"TabauditWorkbookViews", "TabauditSheetLineage", "TabauditEmbeddedDatasourceLineage", "TabauditPublishedDatasourceLineage", "TabauditTables", "TabauditCustomSQL"} {
		st, data, errs := srv.Execute(queriesForTest, op, map[string]any{"first": 2})
		t.Logf("%s %d %s %v", op, st, data, errs)
	}
}
