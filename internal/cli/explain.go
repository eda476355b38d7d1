package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newCmdExplain is a placeholder until the explain command lands.
func newCmdExplain(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "explain",
		Short: "(explain: not implemented yet)",
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageError(errors.New("explain is not implemented yet"))
		},
	}
}
