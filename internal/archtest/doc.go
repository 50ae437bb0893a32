// Package archtest holds the test that keeps DESIGN.md §2's import rules: which
// bridged package may import which, and where bbolt, chi and net/http may appear.
// It has no code of its own and nothing imports it.
package archtest
