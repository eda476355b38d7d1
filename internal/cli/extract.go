package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newCmdExtract is a placeholder until the extract command lands.
func newCmdExtract(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "extract",
		Short: "(extract: not implemented yet)",
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageError(errors.New("extract is not implemented yet"))
		},
	}
}
