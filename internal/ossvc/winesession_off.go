//go:build !(windows && winesession)

package ossvc

// WineSessionBuild is true only in the Wine CI test build
// (winesession_windows.go); every release build has it false.
const WineSessionBuild = false
