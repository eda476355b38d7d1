package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newCmdCheck is a placeholder until the check command lands.
func newCmdCheck(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "(check: not implemented yet)",
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageError(errors.New("check is not implemented yet"))
		},
	}
}
