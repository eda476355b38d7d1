// Package metadatasim serves the Tableau Metadata API (GraphQL) for a
// simulated site: the lineage operations of spec/metadata-queries.graphql with
// cursor connections, totalCount and Tableau's NODE_LIMIT_EXCEEDED warning.
package metadatasim

import (
	"net/http"

	"github.com/tabaudit/tabaudit/extract/site"
)

// Config tunes the endpoint.
type Config struct {
	// NodeLimit is the number of nodes one query may return before the
	// response is cut and carries a NODE_LIMIT_EXCEEDED warning; 0 means
	// Tableau's default of 20,000.
	NodeLimit int
}

// New returns the handler for POST /api/metadata/graphql. Authentication is
// checked by the caller (the REST simulator) before the request arrives here.
func New(s *site.Site, cfg Config) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"errors":[{"message":"metadata simulator not implemented yet"}]}`))
	})
}
