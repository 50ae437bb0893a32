#Requires -Version 5.1
#Requires -RunAsAdministrator
<#
.SYNOPSIS
Installs bridged as a Windows service, or upgrades the installed one.

.DESCRIPTION
Run it from the unzipped bundle (bridged.exe, bridged.yaml, install.ps1) in an
elevated PowerShell:

    powershell -ExecutionPolicy Bypass -File .\install.ps1

First install:
  1. copies bridged.exe to %ProgramFiles%\bridged;
  2. creates %ProgramData%\bridged, where the journal lives, with an ACL for
     SYSTEM and Administrators only;
  3. copies bridged.yaml there unless a config already exists, and stops if it
     still holds the example's placeholders, so that you fill them in first;
  4. runs bridged.exe check-config, install (automatic start, restart after a
     failure) and start;
  5. waits until /healthz answers.

Upgrade (the service exists): stops it (bridged finishes what is in flight),
keeps the old program as bridged.exe.previous, copies the new one, starts the
service again if it was running and waits for /healthz. The data directory
(journal, config, logs) is never touched.

Exit codes: 0 done, 1 failed, 2 the config needs editing first.

.PARAMETER Source
Folder holding the new bridged.exe (default: this script's folder).

.PARAMETER Config
Config to install when %ProgramData%\bridged\bridged.yaml does not exist yet
(default: bridged.yaml beside this script).

.PARAMETER HealthTimeoutSeconds
How long to wait for /healthz after a start (default 60).
#>
[CmdletBinding()]
param(
    [string]$Source = $PSScriptRoot,
    [string]$Config = '',
    [int]$HealthTimeoutSeconds = 60
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$ServiceName = 'bridged'
$InstallDir = Join-Path $env:ProgramFiles 'bridged'
$DataDir = Join-Path $env:ProgramData 'bridged'
$ConfigPath = Join-Path $DataDir 'bridged.yaml'
$LogPath = Join-Path $DataDir 'logs\bridged.log'
$Exe = Join-Path $InstallDir 'bridged.exe'
$NewExe = Join-Path $Source 'bridged.exe'
if (-not $Config) {
    $Config = Join-Path $Source 'bridged.yaml'
}

# Values of the example config that must be replaced before the first start.
$Placeholders = @(
    'your-client-id',
    'your-client-secret',
    'your-merchant-user',
    'your-merchant-password',
    'change-me-to-a-random-key-of-32-chars-or-more'
)

# Runs bridged.exe with the given arguments; stops the script if it fails.
function Invoke-Bridged {
    param([Parameter(ValueFromRemainingArguments = $true)][string[]]$Arguments)
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) {
        throw "bridged.exe $($Arguments -join ' ') failed (exit code $LASTEXITCODE)"
    }
}

# Limits the data directory to SYSTEM and Administrators, inherited by all it
# holds: the ACL bridged.exe install sets too (dataDirSDDL in
# cmd/bridged/service.go). SIDs, not names, so it works in every language.
function Protect-DataDir {
    New-Item -ItemType Directory -Force -Path $DataDir | Out-Null
    & icacls.exe $DataDir /reset /Q | Out-Null
    if ($LASTEXITCODE -ne 0) {
        throw "icacls $DataDir /reset failed (exit code $LASTEXITCODE)"
    }
    & icacls.exe $DataDir /inheritance:r /grant:r '*S-1-5-18:(OI)(CI)F' '*S-1-5-32-544:(OI)(CI)F' /Q | Out-Null
    if ($LASTEXITCODE -ne 0) {
        throw "icacls $DataDir failed (exit code $LASTEXITCODE)"
    }
}

# Checks the config with the given bridged.exe and returns the /healthz URL
# from check-config's summary line
# ("# ... is valid: mode vuk509, 1 terminal(s), listening on 127.0.0.1:8470").
function Get-HealthUrl {
    param([string]$Program)
    $lines = & $Program check-config -c $ConfigPath
    if ($LASTEXITCODE -ne 0) {
        throw "the config $ConfigPath is not valid: see the problems above"
    }
    $m = [regex]::Match(($lines -join "`n"), 'listening on (\S+)')
    if (-not $m.Success) {
        throw 'check-config did not print the listen address'
    }
    $addr = $m.Groups[1].Value -replace '^0\.0\.0\.0:', '127.0.0.1:' -replace '^\[::\]:', '[::1]:'
    return "http://$addr/healthz"
}

# Waits until bridged answers 200 on /healthz (no proxy: it is this PC).
function Wait-Healthy {
    param([string]$Url)
    $deadline = (Get-Date).AddSeconds($HealthTimeoutSeconds)
    while ((Get-Date) -lt $deadline) {
        try {
            $req = [System.Net.WebRequest]::Create($Url)
            $req.Proxy = $null
            $req.Timeout = 5000
            $resp = $req.GetResponse()
            $code = [int]$resp.StatusCode
            $resp.Close()
            if ($code -eq 200) {
                Write-Host "bridged is up: $Url answers 200"
                return
            }
        }
        catch {
            # not listening yet
        }
        Start-Sleep -Seconds 1
    }
    throw "bridged did not answer $Url within $HealthTimeoutSeconds s. See $LogPath and: sc.exe query $ServiceName"
}

# Copies the new program over the old one, retrying while Windows still holds
# the old file open just after the service stopped.
function Copy-Program {
    for ($i = 1; $i -le 30; $i++) {
        try {
            Copy-Item -LiteralPath $NewExe -Destination $Exe -Force
            return
        }
        catch {
            if ($i -eq 30) {
                throw
            }
            Start-Sleep -Seconds 1
        }
    }
}

function New-ApiKey {
    $bytes = New-Object byte[] 32
    $rng = [System.Security.Cryptography.RandomNumberGenerator]::Create()
    $rng.GetBytes($bytes)
    $rng.Dispose()
    return (($bytes | ForEach-Object { $_.ToString('x2') }) -join '')
}

function Install-Bridged {
    Write-Host "Installing bridged to $InstallDir"
    New-Item -ItemType Directory -Force -Path $InstallDir | Out-Null
    Copy-Item -LiteralPath $NewExe -Destination $Exe -Force
    Protect-DataDir
    if (-not (Test-Path -LiteralPath $ConfigPath)) {
        if (-not (Test-Path -LiteralPath $Config)) {
            throw "no config to install: $Config not found"
        }
        # Created inside the protected directory, so it inherits its ACL.
        Copy-Item -LiteralPath $Config -Destination $ConfigPath
        Write-Host "Config copied to $ConfigPath"
    }
    $left = @(Select-String -LiteralPath $ConfigPath -SimpleMatch -Pattern $Placeholders)
    if ($left.Count -gt 0) {
        Write-Host ''
        Write-Host "Edit $ConfigPath before the first start (an elevated Notepad can open it):"
        foreach ($hit in $left) {
            Write-Host ("  line {0}: {1}" -f $hit.LineNumber, $hit.Line.Trim())
        }
        Write-Host "A new random API key for the ECR, if you need one: $(New-ApiKey)"
        Write-Host 'Then run install.ps1 again.'
        exit 2
    }
    $url = Get-HealthUrl -Program $Exe
    Invoke-Bridged install -c $ConfigPath
    Invoke-Bridged start
    Wait-Healthy $url
}

function Update-Bridged {
    param($Service)
    $svc = Get-CimInstance -ClassName Win32_Service -Filter "Name='$ServiceName'"
    if ($svc.PathName -notlike "*$Exe*") {
        throw "the $ServiceName service runs $($svc.PathName), not $Exe; upgrade that copy by hand (docs/install.md)"
    }
    # The new program must accept the config before the old one is stopped.
    $url = Get-HealthUrl -Program $NewExe
    $wasRunning = $Service.Status -eq 'Running'
    if ($Service.Status -ne 'Stopped') {
        Write-Host 'Stopping bridged (it finishes what is in flight first)'
        Stop-Service -Name $ServiceName
    }
    Copy-Item -LiteralPath $Exe -Destination "$Exe.previous" -Force
    Copy-Program
    Write-Host "Program replaced; the previous one is $Exe.previous"
    if ($wasRunning) {
        Start-Service -Name $ServiceName
        Wait-Healthy $url
    }
    else {
        Write-Host 'The service was not running before the upgrade; it is left stopped.'
    }
}

if (-not (Test-Path -LiteralPath $NewExe)) {
    throw "bridged.exe not found in $Source"
}
$existing = Get-Service -Name $ServiceName -ErrorAction SilentlyContinue
if ($existing) {
    Update-Bridged -Service $existing
}
else {
    Install-Bridged
}
& $Exe version
Write-Host "Data (journal, config, logs): $DataDir. Status: & '$Exe' status"
exit 0
