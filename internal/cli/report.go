package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newCmdReport is a placeholder until the report command lands.
func newCmdReport(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "report",
		Short: "(report: not implemented yet)",
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageError(errors.New("report is not implemented yet"))
		},
	}
}
