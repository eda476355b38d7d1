package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newCmdDemo is a placeholder until the demo command lands.
func newCmdDemo(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "(demo: not implemented yet)",
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageError(errors.New("demo is not implemented yet"))
		},
	}
}
