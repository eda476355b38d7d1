package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newCmdSQL is a placeholder until the sql command lands.
func newCmdSQL(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "sql",
		Short: "(sql: not implemented yet)",
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageError(errors.New("sql is not implemented yet"))
		},
	}
}
