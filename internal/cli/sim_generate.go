package cli

import (
	"fmt"

	"github.com/tabaudit/tabaudit/extract/site"
)

// generateSite builds a synthetic site for --preset.
func generateSite(preset string, seed int64) (*site.Site, error) {
	return nil, usageError(fmt.Errorf("--preset %s: the synthetic site generator (site.Generate) is not available yet; use --site FILE", preset))
}
