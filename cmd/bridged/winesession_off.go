//go:build !(windows && winesession)

package main

// wineSessionBuild is true only in the Wine CI test build
// (winesession_windows.go); every release build has it false.
const wineSessionBuild = false
