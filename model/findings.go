package model

import (
	"context"
	"fmt"

	"github.com/tabaudit/tabaudit/model/eval"
)

// buildFindings writes model_findings(code, object_type, object_id, detail,
// related_type, related_id, short): the spec §13 site-level findings, from
// model/eval so that both engines report the same ones. short is the
// CODE:<name>[:<name>] form the spec vectors use.
func (d *DB) buildFindings(ctx context.Context) error {
	if _, err := d.db.ExecContext(ctx, `CREATE OR REPLACE TABLE model_findings (code VARCHAR, object_type VARCHAR,
		object_id VARCHAR, detail VARCHAR, related_type VARCHAR, related_id VARCHAR, short VARCHAR)`); err != nil {
		return fmt.Errorf("creating model_findings: %w", err)
	}
	f, err := eval.LoadFacts(ctx, d.db)
	if err != nil {
		return fmt.Errorf("computing site findings: %w", err)
	}
	return d.WithAppender(ctx, "model_findings", func(a *appender) error {
		for _, fd := range eval.Findings(f) {
			if err := a.AppendRow(fd.Code, fd.ObjectType, fd.ObjectID, fd.Detail, fd.RelatedType, fd.RelatedID, fd.Short(f)); err != nil {
				return err
			}
		}
		return nil
	})
}
