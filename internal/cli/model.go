package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newCmdModel is a placeholder until the model command lands.
func newCmdModel(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "model",
		Short: "(model: not implemented yet)",
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageError(errors.New("model is not implemented yet"))
		},
	}
}
