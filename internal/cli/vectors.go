package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newCmdVectors is a placeholder until the vectors command lands.
func newCmdVectors(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "vectors",
		Short: "(vectors: not implemented yet)",
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageError(errors.New("vectors is not implemented yet"))
		},
	}
}
