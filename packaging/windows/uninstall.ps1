#Requires -Version 5.1
#Requires -RunAsAdministrator
<#
.SYNOPSIS
Removes the bridged service and program; keeps the journal.

.DESCRIPTION
Stops the service (bridged finishes what is in flight first), unregisters it
and deletes %ProgramFiles%\bridged. %ProgramData%\bridged, which holds the
journal (the record of every payment), the config and the logs, is kept:
back it up, and delete it yourself only when you are sure.

    powershell -ExecutionPolicy Bypass -File .\uninstall.ps1

.PARAMETER KeepProgram
Keep %ProgramFiles%\bridged (only unregister the service).
#>
[CmdletBinding()]
param(
    [switch]$KeepProgram
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$ServiceName = 'bridged'
$InstallDir = Join-Path $env:ProgramFiles 'bridged'
$DataDir = Join-Path $env:ProgramData 'bridged'
$Exe = Join-Path $InstallDir 'bridged.exe'

$svc = Get-Service -Name $ServiceName -ErrorAction SilentlyContinue
if ($svc) {
    if ($svc.Status -ne 'Stopped') {
        Write-Host 'Stopping bridged (it finishes what is in flight first)'
        Stop-Service -Name $ServiceName
    }
    if (Test-Path -LiteralPath $Exe) {
        & $Exe uninstall
        if ($LASTEXITCODE -ne 0) {
            throw "bridged.exe uninstall failed (exit code $LASTEXITCODE)"
        }
    }
    else {
        & sc.exe delete $ServiceName | Out-Null
        if ($LASTEXITCODE -ne 0) {
            throw "sc.exe delete $ServiceName failed (exit code $LASTEXITCODE)"
        }
    }
    Write-Host 'Service removed.'
}
else {
    Write-Host 'The bridged service is not installed.'
}

if (-not $KeepProgram -and (Test-Path -LiteralPath $InstallDir)) {
    Remove-Item -LiteralPath $InstallDir -Recurse -Force
    Write-Host "Removed $InstallDir"
}

if (Test-Path -LiteralPath $DataDir) {
    Write-Host ''
    Write-Host "Kept ${DataDir}: the journal (every payment), the config and the logs."
    Write-Host 'Back it up. A later install uses it again. Delete it only when you are sure:'
    Write-Host "  Remove-Item -LiteralPath '$DataDir' -Recurse"
}
exit 0
