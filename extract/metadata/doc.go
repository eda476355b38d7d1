// Package metadata reads lineage from the Tableau Metadata API (GraphQL):
// it walks every cursor page of the operations in metadata-queries.graphql
// (a genqlient client generated from metadata-api.graphql), adapts the page
// size to the server's node limit, and emits de-duplicated lineage_nodes and
// lineage_edges rows for the snapshot, with statistics that say whether the
// lineage is complete and, when not, what is missing.
package metadata

//go:generate go tool genqlient genqlient.yaml
