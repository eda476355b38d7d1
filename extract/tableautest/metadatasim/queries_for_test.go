package metadatasim

import _ "embed"

//go:embed testdata/queries.graphql
var queriesForTest string
