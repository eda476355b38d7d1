package cli

import (
	"github.com/tabaudit/tabaudit/extract/site"
)

// generateSite builds a synthetic site for --preset; an unknown preset is
// an input error.
func generateSite(preset string, seed int64) (*site.Site, error) {
	s, err := site.Generate(preset, seed)
	if err != nil {
		return nil, usageError(err)
	}
	return s, nil
}
