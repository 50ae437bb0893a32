// Package repocheck holds the tests that keep the repository itself portable:
// every tracked path can be checked out on Windows (no reserved device names,
// no characters or trailing dots Windows refuses, no two paths that differ
// only in case, none too long for MAX_PATH), and the module can be zipped as
// the Go module proxy zips a tagged version (golang.org/x/mod/zip). It has no
// code of its own and nothing imports it.
package repocheck
