package model_test

import (
	"strings"
	"testing"

	"github.com/tabaudit/tabaudit/model"
	"github.com/tabaudit/tabaudit/model/modeltest"
)

const vectorsFile = "../testdata/spec/permission-vectors.yaml"

// TestVectorsDirect runs every spec vector through the SQL engine on a model
// built straight from the vector's site (no HTTP).
func TestVectorsDirect(t *testing.T) {
	vs, err := model.LoadVectors(vectorsFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) < 42 {
		t.Fatalf("%d vectors, want the spec's 42", len(vs))
	}
	for _, v := range vs {
		t.Run(v.ID, func(t *testing.T) {
			db := modeltest.New(t, v.Site)
			outs, err := model.CheckVector(t.Context(), db.SQL(), v)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range outs {
				if !o.OK() {
					t.Errorf("%s %s %s (%s): %s [got %s %s %v rule=%q]", o.User, o.Item, o.Cap, o.Basis,
						strings.Join(o.Problems, "; "), o.GotResult, o.GotReason, o.GotFlags, o.GotRule)
				}
			}
		})
	}
}
