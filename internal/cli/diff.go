package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newCmdDiff is a placeholder until the diff command lands.
func newCmdDiff(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "diff",
		Short: "(diff: not implemented yet)",
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageError(errors.New("diff is not implemented yet"))
		},
	}
}
