// Package simulator is a stateful simulator of the iyzico Terminal API, built from
// the project's copy of the upstream spec, with fault injection and an observation
// API. It serves cmd/iyzico-sim, the tests, the benchmarks and `bridged demo`.
//
// It stands in for iyzico, so it must never import any other bridged package: a
// bug in bridged's own code must not be able to hide in the simulator too.
package simulator
