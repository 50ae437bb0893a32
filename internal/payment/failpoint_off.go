//go:build !failpoint

package payment

// failpoints is empty in production builds: hit is a no-op the compiler removes.
type failpoints struct{}

func (failpoints) hit(string) error { return nil }
