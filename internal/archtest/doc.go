// Package archtest holds the tests that keep DESIGN.md §2's import rules:
// which bridged package may import which, and where bbolt, chi and net/http
// may appear, both in a package's own imports (imports_test.go) and in its
// whole import closure (closure_test.go, go list -deps). It has no code of
// its own and nothing imports it.
package archtest
