package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newCmdSim is a placeholder until the sim command lands.
func newCmdSim(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "sim",
		Short: "(sim: not implemented yet)",
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageError(errors.New("sim is not implemented yet"))
		},
	}
}
