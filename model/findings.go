package model

import (
	"context"
	"fmt"
)

// buildFindings writes model_findings(code, object_type, object_id, detail):
// the spec §13 site-level findings.
func (d *DB) buildFindings(ctx context.Context) error {
	if _, err := d.db.ExecContext(ctx, `CREATE OR REPLACE TABLE model_findings (code VARCHAR, object_type VARCHAR, object_id VARCHAR, detail VARCHAR)`); err != nil {
		return fmt.Errorf("creating model_findings: %w", err)
	}
	return nil
}
