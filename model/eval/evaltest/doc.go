// Package evaltest holds the tests of package eval that need DuckDB and the
// model package: LoadFacts against FromSite on models built by modeltest,
// and the differential test of the reference evaluator against the SQL
// engine. They live apart so that eval's own tests stay free of cgo.
package evaltest
