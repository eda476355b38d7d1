package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newCmdExposure is a placeholder until the exposure command lands.
func newCmdExposure(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "exposure",
		Short: "(exposure: not implemented yet)",
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageError(errors.New("exposure is not implemented yet"))
		},
	}
}
