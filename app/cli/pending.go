package cli

import (
	"context"
	"errors"
)

// errPending marks commands whose engine has not landed yet; they fail loudly rather than
// pretending to work.
var errPending = errors.New("not available yet in this build")

func runSearch(ctx context.Context, env Env, args []string) error { return errPending }
func runPivot(ctx context.Context, env Env, args []string) error  { return errPending }
