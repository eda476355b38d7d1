package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newCmdQuery is a placeholder until the query command lands.
func newCmdQuery(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "query",
		Short: "(query: not implemented yet)",
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageError(errors.New("query is not implemented yet"))
		},
	}
}
