# preflight facts collector for Windows (PowerShell 5.1+). Read-only: it runs Get-* cmdlets and
# `netsh ... show ...` and writes a facts file that `preflight check --facts FILE` reads.
# Usage:  powershell -ExecutionPolicy Bypass -File collect.ps1 [-Out host.json] [-HostName NAME]
param([string]$Out = "$env:COMPUTERNAME.json", [string]$HostName = $env:COMPUTERNAME)
$ErrorActionPreference = 'Stop'

function Fact($value, $detail) { [ordered]@{ value = $value; origin = 'live'; detail = $detail } }

function Get-Exclusions($proto) {
    $rows = @()
    foreach ($line in (netsh interface ipv4 show excludedportrange protocol=$proto)) {
        if ($line -match '^\s*(\d+)\s+(\d+)\s*(\*)?\s*$') {
            $rows += [ordered]@{ range = [ordered]@{ start = [int]$Matches[1]; end = [int]$Matches[2] }; administered = [bool]$Matches[3] }
        }
    }
    , $rows
}

function Get-DynamicRange($proto) {
    $nums = @()
    foreach ($line in (netsh int ipv4 show dynamicport $proto)) {
        if ($line -match ':\s*(\d+)\s*$') { $nums += [int]$Matches[1] }
    }
    if ($nums.Count -lt 2) { return $null }
    [ordered]@{ start = $nums[0]; end = $nums[0] + $nums[1] - 1 }
}

$names = @{}
Get-Process | ForEach-Object { $names[[int]$_.Id] = $_.ProcessName }
# The services each process hosts (a shared svchost.exe runs several).
$servicesByPid = @{}
foreach ($w in (Get-CimInstance Win32_Service -Filter "State='Running'" -ErrorAction SilentlyContinue)) {
    $id = [int]$w.ProcessId
    if (-not $servicesByPid.ContainsKey($id)) { $servicesByPid[$id] = @() }
    $servicesByPid[$id] += "$($w.Name)"
}
function Add-Owner($socket, $id) {
    if ($id -eq 0) { return }   # the System Idle Process owns nothing
    $socket.pid = $id
    if ($names.ContainsKey($id)) { $socket.process = $names[$id] }
    if ($servicesByPid.ContainsKey($id)) { $socket.services = @($servicesByPid[$id] | Sort-Object) }
}

$sockets = @()
foreach ($c in (Get-NetTCPConnection -State 'Listen','TimeWait' -ErrorAction SilentlyContinue)) {
    $state = if ($c.State -eq 'Listen') { 'listen' } else { 'time-wait' }
    $s = [ordered]@{ protocol = 'tcp'; address = $c.LocalAddress; port = [int]$c.LocalPort; state = $state }
    if ($state -eq 'listen') { Add-Owner $s ([int]$c.OwningProcess) }
    $sockets += $s
}
foreach ($u in (Get-NetUDPEndpoint -ErrorAction SilentlyContinue)) {
    $s = [ordered]@{ protocol = 'udp'; address = $u.LocalAddress; port = [int]$u.LocalPort; state = 'bound' }
    Add-Owner $s ([int]$u.OwningProcess)
    $sockets += $s
}

function Convert-Ports($spec) {
    $ranges = @()
    foreach ($p in @($spec)) {
        if ($p -eq 'Any' -or $p -eq '' -or $p -eq $null) { return , @() }
        if ($p -match '^(\d+)-(\d+)$') { $ranges += [ordered]@{ start = [int]$Matches[1]; end = [int]$Matches[2] } }
        elseif ($p -match '^\d+$') { $ranges += [ordered]@{ start = [int]$p; end = [int]$p } }
        else { return $null }   # keywords such as RPC: not a port list
    }
    , $ranges
}

$rules = @()
foreach ($r in (Get-NetFirewallRule -Direction Inbound -ErrorAction SilentlyContinue)) {
    $pf = $r | Get-NetFirewallPortFilter
    $af = $r | Get-NetFirewallAddressFilter
    $app = $r | Get-NetFirewallApplicationFilter
    $svc = $r | Get-NetFirewallServiceFilter
    $scope = @()
    if ("$($af.RemoteAddress)" -ne 'Any') { $scope += "remote $($af.RemoteAddress -join ',')" }
    if ("$($app.Program)" -ne 'Any') { $scope += "program $($app.Program)" }
    if ("$($svc.Service)" -ne 'Any') { $scope += "service $($svc.Service)" }
    $profiles = if ("$($r.Profile)" -eq 'Any') { @('Domain', 'Private', 'Public') } else { @("$($r.Profile)" -split ',\s*') }
    $rule = [ordered]@{ name = $r.DisplayName; enabled = ("$($r.Enabled)" -eq 'True'); allow = ("$($r.Action)" -eq 'Allow');
        profiles = $profiles; protocol = "$($pf.Protocol)"; local_ports = (Convert-Ports $pf.LocalPort) }
    if ($scope.Count -gt 0) { $rule.scope = $scope -join ', ' }
    $rules += $rule
}
$fwProfiles = @()
foreach ($p in (Get-NetFirewallProfile)) {
    $fwProfiles += [ordered]@{ name = "$($p.Name)"; enabled = ("$($p.Enabled)" -eq 'True'); default_block_inbound = ("$($p.DefaultInboundAction)" -ne 'Allow') }
}

# Which firewall profile each connected network uses: only those profiles' rules apply now.
$profileOf = @{ DomainAuthenticated = 'Domain'; Private = 'Private'; Public = 'Public' }
$networks = @()
foreach ($c in (Get-NetConnectionProfile -ErrorAction SilentlyContinue)) {
    $fwProfile = $profileOf["$($c.NetworkCategory)"]
    if ($fwProfile) { $networks += [ordered]@{ interface = "$($c.InterfaceAlias)"; profile = $fwProfile } }
}

# Output read better by preflight's own parsers than here: passed on as text, by import kind.
function Capture($argv) {
    $text = (& netsh @argv 2>$null) -join "`n"
    if ($LASTEXITCODE -eq 0) { $text } else { $null }
}
$captures = [ordered]@{}
$text = Capture @('http', 'show', 'servicestate'); if ($text) { $captures['netsh-http-servicestate'] = $text }
$text = Capture @('http', 'show', 'urlacl'); if ($text) { $captures['netsh-http-urlacl'] = $text }
$text = Capture @('interface', 'portproxy', 'show', 'all'); if ($null -ne $text) { $captures['netsh-portproxy'] = $text }

$facts = [ordered]@{
    version        = 1
    host           = $HostName
    os             = 'windows'
    sockets        = Fact $sockets 'Get-NetTCPConnection / Get-NetUDPEndpoint'
    owners_visible = $true
    excluded_tcp   = Fact (Get-Exclusions 'tcp') 'netsh int ipv4 show excludedportrange protocol=tcp'
    excluded_udp   = Fact (Get-Exclusions 'udp') 'netsh int ipv4 show excludedportrange protocol=udp'
    firewall       = Fact ([ordered]@{ windows_rules = $rules; windows_profiles = $fwProfiles }) 'Get-NetFirewallRule / Get-NetFirewallProfile'
}
if ($networks.Count -gt 0) { $facts.network_profiles = Fact $networks 'Get-NetConnectionProfile' }
if ($captures.Count -gt 0) { $facts.captures = $captures }
$tcp = Get-DynamicRange 'tcp'; if ($tcp) { $facts.ephemeral_tcp = Fact $tcp 'netsh int ipv4 show dynamicport tcp' }
$udp = Get-DynamicRange 'udp'; if ($udp) { $facts.ephemeral_udp = Fact $udp 'netsh int ipv4 show dynamicport udp' }

$json = $facts | ConvertTo-Json -Depth 6
[System.IO.File]::WriteAllText($Out, $json, (New-Object System.Text.UTF8Encoding $false))
Write-Output "wrote $Out"
