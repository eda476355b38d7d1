package snapshot

import "time"

// ManifestFile is the name of the manifest in a snapshot folder.
const ManifestFile = "manifest.json"

// Manifest is manifest.json: provenance and completeness of one snapshot
// (DESIGN.md §2). It never holds a credential.
type Manifest struct {
	SchemaVersion    int       `json:"schema_version"`
	ToolVersion      string    `json:"tool_version"`
	SnapshotID       string    `json:"snapshot_id"` // "<site>/<UTC time>", also the folder names
	ServerURL        string    `json:"server_url"`  // no credentials, no query string
	Product          string    `json:"product"`     // productVersion from serverinfo
	ProductBuild     string    `json:"product_build,omitempty"`
	RESTVersion      string    `json:"rest_api_version"`
	SiteID           string    `json:"site_id"`          // LUID
	SiteContentURL   string    `json:"site_content_url"` // "" for Default
	SiteName         string    `json:"site_name"`
	SignedInUser     string    `json:"signed_in_user"` // user LUID
	SignedInUserName string    `json:"signed_in_user_name"`
	SignedInRole     string    `json:"signed_in_site_role"`
	AuthMethod       string    `json:"auth_method"`  // pat | jwt | password
	Insecure         bool      `json:"tls_insecure"` // --insecure was used: TLS verification was off
	CACert           string    `json:"ca_cert,omitempty"`
	Format           string    `json:"format,omitempty"`      // xml | json: what the REST API was read as
	Concurrency      int       `json:"concurrency,omitempty"` // per-item requests in flight
	PageSize         int       `json:"page_size,omitempty"`
	StartedAt        time.Time `json:"started_at"`
	FinishedAt       time.Time `json:"finished_at"`

	Tables map[string]TableStats `json:"tables"`

	Requests     int64     `json:"requests"`
	Retries      int64     `json:"retries"`
	Throttled    int64     `json:"throttled_429"`
	ReSignIns    int64     `json:"re_sign_ins"`
	Failures     []Failure `json:"failures"`                // requests that finally failed
	Warnings     []string  `json:"warnings"`                // e.g. non-admin sign-in: content may be hidden
	Lineage      string    `json:"lineage"`                 // complete | incomplete | not_available | skipped
	LineageNotes []string  `json:"lineage_notes,omitempty"` // node-limit shrinks, obfuscated tables, REST/GraphQL LUID mismatches
	Complete     bool      `json:"complete"`
	Incomplete   []string  `json:"incomplete_reasons,omitempty"`
}

// TableStats describes one table of the snapshot.
type TableStats struct {
	Rows           int64 `json:"rows"`
	TotalAvailable int64 `json:"total_available"` // -1 when the endpoint does not announce one
	Requests       int64 `json:"requests"`
	Complete       bool  `json:"complete"`
}

// Failure is one request that failed after every retry.
type Failure struct {
	Method     string `json:"method"`
	Path       string `json:"path"`   // redacted of any token
	Entity     string `json:"entity"` // e.g. "permissions of workbook <luid>"
	StatusCode int    `json:"status"`
	Code       string `json:"code,omitempty"` // Tableau error code
	Error      string `json:"error"`
	// Gone is true for a 404 on an entity that was listed moments before:
	// it was deleted during the extraction. Recorded, but it does not make
	// the snapshot incomplete (the entity no longer exists).
	Gone bool `json:"gone,omitempty"`
}
