package metadata

import (
	"os"
	"testing"
)

// TestCopiesInStep: the simulator executes the same schema and is tested
// with the same operations the client is generated from.
func TestCopiesInStep(t *testing.T) {
	for _, pair := range [][2]string{
		{"metadata-api.graphql", "../tableautest/metadatasim/schema.graphql"},
		{"metadata-queries.graphql", "../tableautest/metadatasim/testdata/queries.graphql"},
	} {
		a, err := os.ReadFile(pair[0])
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(pair[1])
		if err != nil {
			t.Fatal(err)
		}
		if string(a) != string(b) {
			t.Errorf("%s and %s differ; copy the first over the second", pair[0], pair[1])
		}
	}
}
