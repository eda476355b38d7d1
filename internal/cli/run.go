package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newCmdRun is a placeholder until the run command lands.
func newCmdRun(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "(run: not implemented yet)",
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageError(errors.New("run is not implemented yet"))
		},
	}
}
